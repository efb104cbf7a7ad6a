@testable import Mail
import Foundation

/// Bounces as the mail systems named in issue #5 write them, shortened but with their
/// structure and wording kept.
enum BounceFixtures {
    /// Postfix's RFC 3464 report, the returned headers as text/rfc822-headers.
    static let postfixReport = """
        Return-Path: <>
        Received: by mail.example.net (Postfix) id 4F1A2; Fri, 27 Nov 2026 09:12:03 +0000 (UTC)
        Date: Fri, 27 Nov 2026 09:12:03 +0000 (UTC)
        From: MAILER-DAEMON@mail.example.net (Mail Delivery System)
        Subject: Undelivered Mail Returned to Sender
        To: bounce+abcdefgh@bounces.example.com
        Auto-Submitted: auto-replied
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type=delivery-status;
        \tboundary="4F1A2.1700000000/mail.example.net"
        Message-Id: <20261127091203.4F1A2@mail.example.net>

        This is a MIME-encapsulated message.

        --4F1A2.1700000000/mail.example.net
        Content-Description: Notification
        Content-Type: text/plain; charset=us-ascii

        This is the mail system at host mail.example.net.

        I'm sorry to have to inform you that your message could not
        be delivered to one or more recipients. It's attached below.

        <ann@example.org>: host mx.example.org[192.0.2.7] said: 550 5.1.1
            <ann@example.org>: Recipient address rejected: User unknown in virtual
            mailbox table (in reply to RCPT TO command)

        --4F1A2.1700000000/mail.example.net
        Content-Description: Delivery report
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mail.example.net
        X-Postfix-Queue-ID: 4F1A2
        Arrival-Date: Fri, 27 Nov 2026 09:12:02 +0000 (UTC)

        Final-Recipient: rfc822; Ann@Example.org
        Original-Recipient: rfc822;ann@example.org
        Action: failed
        Status: 5.1.1
        Remote-MTA: dns; mx.example.org
        Diagnostic-Code: smtp; 550 5.1.1 <ann@example.org>: Recipient address rejected:
            User unknown in virtual mailbox table

        --4F1A2.1700000000/mail.example.net
        Content-Description: Undelivered Message Headers
        Content-Type: text/rfc822-headers

        From: News <news@example.com>
        To: ann@example.org
        Subject: Hello
        Message-ID: <herald.12.0.0123456789abcdef@example.com>

        --4F1A2.1700000000/mail.example.net--
        """

    /// A delay warning with two recipients, the returned message as message/rfc822,
    /// the status part base64 encoded (some MTAs do).
    static let delayedTwoRecipients = """
        From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.net>
        To: bounce+zzz@bounces.example.com
        Subject: Warning: message delayed 4 hours
        Message-ID: <delay.1@relay.example.net>
        MIME-Version: 1.0
        Content-Type: multipart/report; report-type="delivery-status"; boundary=XYZ

        --XYZ
        Content-Type: text/plain

        Your message has not yet been delivered. Will retry for 5 days.

        --XYZ
        Content-Type: message/delivery-status
        Content-Transfer-Encoding: base64

        \(String(decoding: Base64.encodeBytes(Array(delayedStatus.utf8), lineLength: 76), as: UTF8.self))
        --XYZ
        Content-Type: message/rfc822

        From: news@example.com
        Subject: =?UTF-8?B?R3LDvMOfZQ==?=
        Message-ID: <herald.3.1.feedfacefeedface@example.com>

        body
        --XYZ--
        """

    static let delayedStatus = """
        Reporting-MTA: dns; relay.example.net

        Final-Recipient: rfc822; bob@example.org
        Action: delayed
        Status: 4.4.1
        Diagnostic-Code: smtp; 421 4.4.1 Connection timed out

        Final-Recipient: rfc822; carol@example.org
        Action: failed
        Status: 5.2.2
        Diagnostic-Code: smtp; 552 5.2.2 Mailbox full

        """.replacingOccurrences(of: "\n", with: "\r\n")

    /// qmail's plain text with a copy of the message below the line.
    static let qmail = """
        Return-Path: <>
        Date: 27 Nov 2026 09:20:11 -0000
        From: MAILER-DAEMON@qmail.example.net
        To: bounce+abc@bounces.example.com
        Subject: failure notice

        Hi. This is the qmail-send program at qmail.example.net.
        I'm afraid I wasn't able to deliver your message to the following addresses.
        This is a permanent error; I've given up. Sorry it didn't work out.

        <dave@example.org>:
        192.0.2.9 does not like recipient.
        Remote host said: 550 5.1.1 <dave@example.org>... No such user
        Giving up on 192.0.2.9.

        --- Below this line is a copy of the message.

        Return-Path: <bounce+abc@bounces.example.com>
        From: News <news@example.com>
        To: dave@example.org
        Message-ID: <herald.7.0.1111222233334444@example.com>
        Subject: Hello

        Hi Dave
        """

    /// Exim's plain text, a temporary failure, the copy after its marker.
    static let exim = """
        From: Mail Delivery System <Mailer-Daemon@exim.example.net>
        To: bounce+abc@bounces.example.com
        Subject: Mail delivery failed: returning message to sender
        Message-Id: <E1abc-0001@exim.example.net>
        Auto-Submitted: auto-replied

        This message was created automatically by mail delivery software.

        A message that you sent could not be delivered to one or more of its
        recipients. This is a permanent error. The following address(es) failed:

          erin@example.org
            host mx.example.org [192.0.2.10]
            SMTP error from remote mail server after RCPT TO:<erin@example.org>:
            550 5.7.1 Message rejected as spam

        ------ This is a copy of the message, including all the headers. ------

        Return-path: <bounce+abc@bounces.example.com>
        From: news@example.com
        To: erin@example.org
        Message-ID: <herald.7.0.5555666677778888@example.com>
        Subject: Hello
        """

    /// Office 365's NDR: quoted-printable HTML and text, no delivery-status part.
    static let exchange = """
        From: Microsoft Outlook <postmaster@contoso.onmicrosoft.com>
        To: <bounce+abc@bounces.example.com>
        Subject: Undeliverable: Hello
        Message-ID: <ndr.1@contoso.onmicrosoft.com>
        MIME-Version: 1.0
        Content-Type: multipart/alternative; boundary="b1"

        --b1
        Content-Type: text/plain; charset="us-ascii"
        Content-Transfer-Encoding: quoted-printable

        Your message to frank@contoso.com couldn't be delivered.
        frank wasn't found at contoso.com.

        Diagnostic information for administrators:

        Generating server: AM0PR01MB1234.eurprd01.prod.outlook.com

        frank@contoso.com
        Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipien=
        t not found by SMTP address lookup'

        Original message headers:

        Message-ID: <herald.9.0.aaaabbbbccccdddd@example.com>
        --b1
        Content-Type: text/html; charset="us-ascii"

        <html><body><p>Your message to <b>frank@contoso.com</b> couldn't be delivered.</p></body></html>
        --b1--
        """

    /// Gmail's text-only notice (the form it takes for mail relayed through it).
    static let gmail = """
        From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
        To: bounce+abc@bounces.example.com
        Subject: Delivery Status Notification (Failure)
        Message-ID: <gmail.1@mx.google.com>
        Content-Type: text/plain; charset="UTF-8"

        ** Address not found **

        Your message wasn't delivered to grace@example.org because the address couldn't be found, or is unable to receive mail.

        The response from the remote server was:
        550 5.1.1 The email account that you tried to reach does not exist. Please try
        double-checking the recipient's email address for typos or unnecessary spaces.
        """

    /// An ordinary reply: not a bounce.
    static let reply = """
        From: Ann <ann@example.org>
        To: news@example.com
        Subject: Re: Hello
        In-Reply-To: <herald.12.0.0123456789abcdef@example.com>

        Thanks, see you on 5.1.2026 at the office. Call me: bob@example.org
        """
}

