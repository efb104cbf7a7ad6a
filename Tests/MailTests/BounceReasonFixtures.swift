/// Bounces, complaints and replies for the reasons of `BounceReason`, written from RFC 3464,
/// RFC 5965, RFC 3834 and the error texts the servers document; each is cut to what the
/// reader needs. Addresses and hosts use the example domains of RFC 2606 and the IPs of RFC 5737.
enum ReasonFixtures {
    /// A minimal Postfix-style RFC 3464 report for one recipient.
    static func dsn(recipient: String = "ann@example.org", action: String = "failed", status: String, diagnostic: String,
                    type: String = "smtp", from: String = "MAILER-DAEMON@mx.example.net (Mail Delivery System)") -> String {
        """
        Return-Path: <>
        From: \(from)
        To: bounce+t1@bounces.example.com
        Subject: Undelivered Mail Returned to Sender
        Message-ID: <dsn.\(status).\(action)@mx.example.net>
        Content-Type: multipart/report; report-type=delivery-status; boundary="B"

        --B
        Content-Type: text/plain

        This is the mail system at host mx.example.net.

        --B
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.example.net

        Final-Recipient: rfc822; \(recipient)
        Action: \(action)
        Status: \(status)
        Diagnostic-Code: \(type); \(diagnostic)

        --B
        Content-Type: text/rfc822-headers

        From: News <news@example.com>
        To: \(recipient)
        Subject: Hello
        Message-ID: <herald.1.0.abc@example.com>

        --B--
        """
    }

    // MARK: One per reason, in the servers' own words

    /// Gmail 5.2.1: the account exists but is disabled.
    static let gmailDisabled = dsn(recipient: "bob@gmail.example", status: "5.2.1",
                                   diagnostic: "550-5.2.1 The email account that you tried to reach is disabled. Learn more at https://support.google.com/mail/?p=DisabledUser")

    /// Yandex answers an unknown user with 5.7.1: the words decide.
    static let yandexNoSuchUser = dsn(recipient: "ivan@yandex.example", status: "5.7.1", diagnostic: "550 5.7.1 No such user!")

    /// Sendmail writes Status 5.0.0 while the reply says 5.1.1.
    static let sendmailUnspecific = dsn(recipient: "carl@example.org", status: "5.0.0", diagnostic: "550 5.1.1 <carl@example.org>... User unknown")

    /// Postfix could not find the domain.
    static let postfixNoDomain = dsn(recipient: "dan@nonexistent.example", status: "5.4.4",
                                     diagnostic: "Host or domain name not found. Name service error for name=nonexistent.example type=A: Host not found",
                                     type: "X-Postfix")

    /// Orange: full mailbox, in French and English.
    static let orangeFull = dsn(recipient: "elise@orange.example", status: "5.2.2",
                                diagnostic: "552 5.2.2 Boite du destinataire pleine. Recipient overquota. OFR_417")

    /// Exchange Online: the message exceeds the recipient's limit.
    static let exchangeTooLarge = dsn(recipient: "fay@contoso.example", status: "5.3.4",
                                      diagnostic: "552 5.3.4 Message size exceeds fixed maximum message size")

    /// Exchange's queue gave up (X.4.7).
    static let exchangeExpired = dsn(recipient: "gus@contoso.example", status: "4.4.7",
                                     diagnostic: "400 4.4.7 Message delayed; queue expired; message expired")

    /// Postfix gave up on a host that never answered: Action failed with a 4.x.x status.
    static let postfixGaveUp = dsn(recipient: "hal@example.org", status: "4.4.1",
                                   diagnostic: "delivery temporarily suspended: connect to mx.example.org[192.0.2.7]:25: Connection timed out",
                                   type: "X-Postfix")

    /// Barracuda's reputation list.
    static let barracudaBlocked = dsn(recipient: "ida@example.org", status: "5.7.1",
                                      diagnostic: "554 Service unavailable; Client host [192.0.2.1] blocked using Barracuda Reputation; http://www.barracudanetworks.com/reputation/?r=1&ip=192.0.2.1")

    /// Outlook.com's block list (S3150).
    static let outlookBlockList = dsn(recipient: "jo@outlook.example", status: "5.7.1",
                                      diagnostic: "550 5.7.1 Unfortunately, messages from [192.0.2.1] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).")

    /// Gmail's spam filter.
    static let gmailSpam = dsn(recipient: "kim@gmail.example", status: "5.7.1",
                               diagnostic: "550-5.7.1 [192.0.2.1] Our system has detected that this message is likely unsolicited mail. To reduce the amount of spam sent to Gmail, this message has been blocked.")

    /// Postfix refusing to relay.
    static let relayDenied = dsn(recipient: "lee@example.org", status: "5.7.1", diagnostic: "554 5.7.1 <lee@example.org>: Relay access denied")

    /// Gmail rejecting for DMARC, words that also say "blocked".
    static let gmailDMARC = dsn(recipient: "mo@gmail.example", status: "5.7.26",
                                diagnostic: "550-5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy. Please contact the administrator of example.com domain. This message has been blocked.")

    /// Exchange Online's DMARC rejection, with a three-digit detail.
    static let exchangeDMARC = dsn(recipient: "ned@contoso.example", status: "5.7.509",
                                   diagnostic: "550 5.7.509 Access denied, sending domain EXAMPLE.COM does not pass DMARC verification and has a DMARC policy of reject.")

    /// Yahoo throttling: a delay notice, soft.
    static let yahooDeferred = dsn(recipient: "ola@yahoo.example", action: "delayed", status: "4.7.0",
                                   diagnostic: "421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume or user complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes")

    /// A mailbox moved without forwarding.
    static let moved = dsn(recipient: "pat@example.org", status: "5.1.6", diagnostic: "550 5.1.6 Recipient mailbox has moved, no forwarding address")

    /// Postfix retrying a host that refuses connections: soft.
    static let connectionRefused = dsn(recipient: "quinn@example.org", action: "delayed", status: "4.4.1",
                                       diagnostic: "connect to mx.example.org[192.0.2.7]:25: Connection refused", type: "X-Postfix")

    /// Nothing more than a system error.
    static let systemError = dsn(recipient: "ray@example.org", status: "5.3.0", diagnostic: "554 5.3.0 Transaction failed")

    /// QQ: a deactivated mailbox, no enhanced code.
    static let qqDeactivated = dsn(recipient: "12345@qq.example", status: "5.0.0", diagnostic: "550 The recipient 12345@qq.example is a deactivated mailbox")

    // MARK: Plain-text bounces

    /// Exim with X-Failed-Recipients: the domain cannot be routed.
    static let eximUnrouteable = """
        From: Mail Delivery System <Mailer-Daemon@exim.example.net>
        To: bounce+t2@bounces.example.com
        Subject: Mail delivery failed: returning message to sender
        X-Failed-Recipients: sam@nowhere.example
        Auto-Submitted: auto-replied

        This message was created automatically by mail delivery software.

        A message that you sent could not be delivered to one or more of its
        recipients. This is a permanent error. The following address(es) failed:

          sam@nowhere.example
            Unrouteable address

        ------ This is a copy of the message, including all the headers. ------

        Return-path: <bounce+t2@bounces.example.com>
        From: news@example.com
        To: sam@nowhere.example
        Message-ID: <herald.2.0.abc@example.com>
        """

    /// Exim giving up after its retry limit, no SMTP code at all.
    static let eximRetryTimeout = """
        From: Mail Delivery System <Mailer-Daemon@exim.example.net>
        To: bounce+t3@bounces.example.com
        Subject: Mail delivery failed: returning message to sender

        This message was created automatically by mail delivery software.

        A message that you sent could not be delivered to one or more of its
        recipients. This is a permanent error. The following address(es) failed:

          tess@slow.example
            retry timeout exceeded
        """

    /// GMX: a text bounce with the server's full-mailbox reply.
    static let gmxFull = """
        From: Mail Delivery System <mailer-daemon@gmx.example>
        To: bounce+t4@bounces.example.com
        Subject: Mail delivery failed: returning message to sender

        This message was created automatically by mail delivery software.

        A message that you sent could not be delivered to one or more of
        its recipients. This is a permanent error. The following address
        failed:

        "uwe@gmx.example":
        SMTP error from remote server for RCPT TO command, host: mx00.gmx.example (192.0.2.20) reason: 552 Requested mail action aborted: exceeded storage allocation
        """

    // MARK: Malformed shapes

    /// The header declares a boundary the body never uses: the body is read as text, and the
    /// delivery-status fields in it still name the recipient.
    static let boundaryNeverAppears = """
        Return-Path: <>
        From: MAILER-DAEMON@mx.example.net
        To: bounce+t5@bounces.example.com
        Subject: Undelivered Mail Returned to Sender
        Content-Type: multipart/report; report-type=delivery-status; boundary="never-used"

        --other-boundary
        Content-Type: text/plain

        I'm sorry to have to inform you that your message could not
        be delivered to one or more recipients.

        --other-boundary
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.example.net

        Final-Recipient: rfc822; vera@example.org
        Action: failed
        Status: 5.1.1
        Diagnostic-Code: smtp; 550 5.1.1 <vera@example.org>: Recipient address rejected: User unknown

        --other-boundary
        Content-Type: text/rfc822-headers

        Return-Path: <bounce+t5@bounces.example.com>
        From: News <news@example.com>
        To: vera@example.org
        Message-ID: <herald.5.0.abc@example.com>

        --other-boundary--
        """

    /// The boundary parameter on the next line without its `;`.
    static let continuedParameters = """
        From: MAILER-DAEMON@mx.example.net
        To: bounce+t6@bounces.example.com
        Subject: Delivery Status Notification (Failure)
        Content-Type: multipart/report; report-type=delivery-status
        \tboundary="XYZ"

        --XYZ
        Content-Type: text/plain

        Delivery has failed.

        --XYZ
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.example.net

        Final-Recipient: rfc822; walt@example.org
        Action: failed
        Status: 5.2.2
        Diagnostic-Code: smtp; 552 5.2.2 Mailbox full

        --XYZ--
        """

    /// A text bounce in no known form whose copy of the message follows no known marker:
    /// the returned headers (Mailman's version, a Received line with a version, dates, IPs,
    /// a bare Message-ID) must not give a status or a recipient; nor may the report's own
    /// sender, or a Message-ID the explanation quotes.
    static let unknownMarkerCopy = """
        Return-Path: <>
        From: Mail System <mailsys@mx.example.net>
        To: bounce+t7@bounces.example.com
        Subject: Returned mail: see transcript for details

        The original message was received at Fri, 27 Nov 2026 09:12:02 +0000
        from relay.example.com [192.0.2.5], message-id <herald.7.0.abc@example.com>.
        Your message (ID 20261127.1234@relay.example.com) could not be delivered.

        xena@example.org
            550 5.1.1 Mailbox unavailable

        Kind regards, mailsys@mx.example.net

        Return-Path: <bounce+t7@bounces.example.com>
        Received: from relay.example.com (relay.example.com [192.0.2.5])
        \tby mx.example.net (Sendmail v4.6.1) with ESMTP id 4F1A2; Fri, 27 Nov 2026 09:12:02 +0000
        X-Mailman-Version: 2.0.8
        From: News <news@example.com>
        Reply-To: editor@example.com
        To: xena@example.org
        Cc: yves@example.org
        Subject: Hello 4.5.6
        Message-ID: 20261127.abc@example.com
        Date: Fri, 27 Nov 2026 09:12:00 +0000

        Hello Xena, write to zoe@example.org.
        """

    /// A mail system that has nothing to say about recipients.
    static let deliveryReportUnavailable = """
        Return-Path: <>
        From: MAILER-DAEMON@mx.example.net
        To: bounce+t8@bounces.example.com
        Subject: Delivery Status Notification

        Delivery report unavailable.
        """

    /// An RFC 3464 report with per-message fields only.
    static let dsnWithoutRecipients = """
        From: postmaster@mx.example.net
        To: bounce+t9@bounces.example.com
        Subject: Delivery Status Notification (Failure)
        Content-Type: multipart/report; report-type=delivery-status; boundary="B"

        --B
        Content-Type: text/plain

        Your message could not be delivered.

        --B
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.example.net
        Arrival-Date: Fri, 27 Nov 2026 09:12:02 +0000

        --B--
        """

    /// Two recipients with no empty line between their blocks.
    static let recipientsWithoutSeparator = """
        From: MAILER-DAEMON@mx.example.net
        Content-Type: multipart/report; report-type=delivery-status; boundary="B"

        --B
        Content-Type: message/delivery-status

        Reporting-MTA: dns; mx.example.net
        Final-Recipient: rfc822; amy@example.org
        Action: failed
        Status: 5.1.1
        Final-Recipient: rfc822; ben@example.org
        Action: delayed
        Status: 4.2.2
        --B--
        """

    // MARK: Not bounces

    /// Exchange's out-of-office: RFC 3834 header and subject.
    static let outOfOffice = """
        From: Ann <ann@example.org>
        To: bounce+t10@bounces.example.com
        Subject: Automatic reply: Hello
        Auto-Submitted: auto-replied
        X-Auto-Response-Suppress: All

        I am out of the office until Monday. For urgent matters write to bob@example.org.
        """

    /// A German vacation notice that only its subject gives away.
    static let outOfOfficeGerman = """
        From: Jörg <joerg@example.de>
        To: news@example.com
        Subject: Abwesenheitsnotiz: Hallo

        Ich bin bis zum 5.1.2026 nicht im Büro. Vertretung: petra@example.de
        """

    /// A French autoresponder with X-Autoreply, from the null sender.
    static let outOfOfficeFrench = """
        Return-Path: <>
        From: Claire <claire@example.fr>
        To: bounce+t11@bounces.example.com
        Subject: =?UTF-8?Q?R=C3=A9ponse_automatique?= : Bonjour
        X-Autoreply: yes

        Je suis absente jusqu'au 3 janvier.
        """

    /// A newsletter that lands at the return path: neither bounce nor automatic reply.
    static let newsletter = """
        From: Shop <news@shop.example>
        To: bounce+t12@bounces.example.com
        Subject: Our winter sale
        Precedence: bulk
        List-Unsubscribe: <mailto:unsubscribe@shop.example>

        Questions? Write to help@shop.example. Orders that could not be delivered are refunded.
        """

    /// A read receipt (RFC 8098).
    static let readReceipt = """
        From: Ann <ann@example.org>
        To: news@example.com
        Subject: Read: Hello
        Content-Type: multipart/report; report-type=disposition-notification; boundary="R"

        --R
        Content-Type: text/plain

        Your message to ann@example.org was displayed.

        --R
        Content-Type: message/disposition-notification

        Final-Recipient: rfc822; ann@example.org
        Disposition: manual-action/MDN-sent-manually; displayed

        --R--
        """

    /// Exchange's delay notice in words only: soft.
    static let exchangeDelay = """
        From: postmaster@contoso.example
        To: bounce+t13@bounces.example.com
        Subject: Delivery delayed: Hello

        Delivery is delayed to these recipients or groups:

        nora@contoso.example

        This message hasn't been delivered yet. Delivery will continue to be attempted.
        The server will keep trying for another 1 day.

        Diagnostic information for administrators:
        Remote Server returned '400 4.4.7 Message delayed'
        """

    // MARK: Complaints

    /// Yahoo's Complaint Feedback Loop: ARF, the recipient left out, the headers returned.
    static let yahooComplaint = """
        From: feedbackloop@yahoo.example
        To: fbl@example.com
        Subject: Email Feedback Report for IP 192.0.2.1
        Message-ID: <cfl.1@yahoo.example>
        Content-Type: multipart/report; report-type=feedback-report; boundary="F"

        --F
        Content-Type: text/plain

        This is an email abuse report for an email message received from IP 192.0.2.1 on Fri, 27 Nov 2026 09:12:02 +0000.

        --F
        Content-Type: message/feedback-report

        Feedback-Type: abuse
        User-Agent: Yahoo!-Mail-Feedback/2.0
        Version: 0.1
        Original-Mail-From: <bounce+t14@bounces.example.com>
        Arrival-Date: Fri, 27 Nov 2026 09:12:02 +0000
        Reported-Domain: example.com
        Authentication-Results: mta.yahoo.example from=example.com; domainkeys=neutral; dkim=pass header.d=example.com

        --F
        Content-Type: text/rfc822-headers

        Return-Path: <bounce+t14@bounces.example.com>
        From: News <news@example.com>
        To: redacted@yahoo.example
        Subject: Hello
        Message-ID: <herald.14.0.abc@example.com>
        List-Unsubscribe: <https://example.com/u/T14>, <mailto:unsubscribe+t14@bounces.example.com>

        --F--
        """

    /// Microsoft's JMRP as ARF: the original attached, the complainant in X-HmXmrOriginalRecipient.
    static let microsoftComplaint = """
        From: staff@hotmail.example
        To: fbl@example.com
        Subject: complaint about message from 192.0.2.1
        Content-Type: multipart/report; report-type=feedback-report; boundary="J"

        --J
        Content-Type: text/plain

        This is an email abuse report for an email message received from IP 192.0.2.1.

        --J
        Content-Type: message/feedback-report

        Feedback-Type: abuse
        User-Agent: Microsoft Junk Mail Reporting Program
        Version: 1
        Source-IP: 192.0.2.1
        Original-Rcpt-To: rob@hotmail.example

        --J
        Content-Type: message/rfc822

        X-HmXmrOriginalRecipient: <rob@hotmail.example>
        Return-Path: bounce+t15@bounces.example.com
        From: News <news@example.com>
        To: rob@hotmail.example
        Subject: Hello
        Message-ID: <herald.15.0.abc@example.com>

        Hello Rob
        --J--
        """

    /// Microsoft's JMRP before ARF: multipart/mixed, no report part.
    static let microsoftLegacyComplaint = """
        From: staff@hotmail.example
        To: fbl@example.com
        Subject: complaint about message from 192.0.2.1
        Content-Type: multipart/mixed; boundary="L"

        --L
        Content-Type: text/plain

        This is an email abuse report for an email message received from IP 192.0.2.1.

        --L
        Content-Type: message/rfc822

        X-HmXmrOriginalRecipient: <sue@hotmail.example>
        From: news@example.com
        To: sue@hotmail.example
        Message-ID: <herald.16.0.abc@example.com>

        Hi
        --L--
        """

    /// AOL's feedback loop: ARF with Received-Date, the message returned whole.
    static let aolComplaint = """
        From: scomp@aol.example
        To: fbl@example.com
        Subject: Email Feedback Report for IP 192.0.2.1
        Content-Type: multipart/report; report-type=feedback-report; boundary="A"

        --A
        Content-Type: text/plain

        This is an email abuse report for an email message received from IP 192.0.2.1.

        --A
        Content-Type: message/feedback-report

        Feedback-Type: abuse
        User-Agent: AOL SComp
        Version: 0.1
        Received-Date: Fri, 27 Nov 2026 09:12:02 +0000
        Source-IP: 192.0.2.1
        Reporting-MTA: dns; mail.aol.example

        --A
        Content-Type: message/rfc822

        Return-Path: <bounce+t17@bounces.example.com>
        From: news@example.com
        To: tom@aol.example
        Message-ID: <herald.17.0.abc@example.com>

        Hi
        --A--
        """

    /// A not-spam report (RFC 6430).
    static let notSpam = """
        From: fbl@isp.example
        Content-Type: multipart/report; report-type=feedback-report; boundary="N"

        --N
        Content-Type: message/feedback-report

        Feedback-Type: not-spam
        User-Agent: Example-FBL/1.0
        Version: 1
        Original-Rcpt-To: <una@isp.example>
        Original-Rcpt-To: <una.alias@isp.example>

        --N--
        """

    // MARK: Replies of well-known servers

    /// What servers answer, as their documentation and postmaster pages show it, with the
    /// reason's raw value: one line a reply, the Status a DSN would carry (nil: none).
    static let replies: [(server: String, status: String?, diagnostic: String?, reason: String)] = [
        ("Gmail", "5.1.1", "550-5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces.", "user_unknown"),
        ("Gmail", "5.2.2", "552-5.2.2 The email account that you tried to reach is over quota. Please direct the recipient to https://support.google.com/mail/?p=OverQuotaTemp", "mailbox_full"),
        ("Gmail", "4.2.2", "452-4.2.2 The recipient's inbox is out of storage space.", "mailbox_full"),
        ("Gmail", "5.3.4", "552-5.3.4 Your message exceeded Google's message size limits.", "message_too_large"),
        ("Gmail", "5.7.26", "550-5.7.26 This message does not have authentication information or fails to pass authentication checks (SPF or DKIM).", "authentication"),
        ("Gmail", "4.7.28", "421-4.7.28 Gmail has detected an unusual rate of mail originating from your IP address. To protect our users from spam, mail has been temporarily rate limited.", "rate_limited"),
        ("Gmail", "5.7.1", "550-5.7.1 Our system has detected that this message is likely suspicious due to the very low reputation of the sending IP address.", "blocked"),
        ("Gmail", "5.2.1", "550-5.2.1 The email account that you tried to reach is inactive.", "account_suspended"),
        ("Gmail", "4.2.1", "450-4.2.1 The user you are trying to contact is receiving mail too quickly.", "rate_limited"),
        ("Gmail", "5.4.6", "554-5.4.6 Message exceeded 50 hops, this may indicate a mail loop.", "network_error"),
        ("Outlook.com", "5.5.0", "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302).", "user_unknown"),
        ("Exchange Online", "5.4.1", "550 5.4.1 Recipient address rejected: Access denied. AS(201806281)", "user_unknown"),
        ("Exchange Online", "5.1.10", "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup", "user_unknown"),
        ("Exchange Online", "5.7.606", "550 5.7.606 Access denied, banned sending IP [192.0.2.1]. To request removal from this list please visit https://sender.office.com/", "blocked"),
        ("Exchange Online", "5.2.2", "554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException", "mailbox_full"),
        ("Exchange Online", "5.2.2", "550 5.2.2 Submission quota exceeded", "rate_limited"),
        ("Exchange Online", "4.5.3", "452 4.5.3 Too many recipients", "rate_limited"),
        ("Exchange Online", "4.7.650", "451 4.7.650 The mail server [192.0.2.1] has been temporarily rate limited due to IP reputation.", "rate_limited"),
        ("Exchange Online", "4.3.2", "452 4.3.2 STOREDRV.Deliver; recipient thread limit exceeded", "rate_limited"),
        ("Exchange", "5.7.1", "550 5.7.1 Client was not authenticated", "policy"),
        ("Yahoo", nil, "554 delivery error: dd This user doesn't have a yahoo.com account (abc@yahoo.com) [0] - mta1234.mail.ne1.yahoo.com", "user_unknown"),
        ("Yahoo", "5.7.1", "553 5.7.1 [BL21] Connections will not be accepted from 192.0.2.1, because the ip is in Spamhaus's list; see http://postmaster.yahoo.com/550-bl23.html", "blocked"),
        ("Yahoo", "5.7.9", "550 5.7.9 This mail has been blocked because the sender is unauthenticated. Yahoo requires all senders to authenticate with either SPF or DKIM.", "authentication"),
        ("Yahoo", "5.7.2", "553 5.7.2 [TSS09] All messages from 192.0.2.1 will be permanently deferred; Retrying will NOT succeed.", "blocked"),
        ("Yahoo", nil, "552 1 Requested mail action aborted, mailbox not found", "user_unknown"),
        ("AOL", nil, "554 30 Sorry, your message to abc@aol.com cannot be delivered. This mailbox is disabled (554.30).", "account_suspended"),
        ("iCloud", "5.1.1", "550 5.1.1 <abc@icloud.com>: user does not exist", "user_unknown"),
        ("iCloud", "5.7.1", "554 5.7.1 [CS01] Message rejected due to local policy. Please visit https://support.apple.com/en-us/HT204137", "policy"),
        ("Postfix", "5.1.1", "550 5.1.1 <abc@example.org>: Recipient address rejected: User unknown in local recipient table", "user_unknown"),
        ("Postfix", "5.4.6", "mail for example.org loops back to myself", "network_error"),
        ("Postfix", "4.4.3", "Host or domain name not found. Name service error for name=example.org type=MX: Host not found, try again", "network_error"),
        ("Postfix", "5.7.1", "554 5.7.1 Service unavailable; Client host [192.0.2.1] blocked using zen.spamhaus.org; https://www.spamhaus.org/query/ip/192.0.2.1", "blocked"),
        ("Postfix", "4.7.1", "450 4.7.1 Client host rejected: cannot find your hostname, [192.0.2.1]", "blocked"),
        ("Postfix", "4.2.0", "450 4.2.0 <abc@example.org>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/help/example.org.html", "rate_limited"),
        ("Postfix", "5.1.8", "553 5.1.8 <bounce@example.com>: Sender address rejected: Domain not found", "policy"),
        ("Exim", nil, "550 Unrouteable address", "host_unknown"),
        ("Exim", nil, "retry timeout exceeded", "expired"),
        ("Exim", nil, "550 Administrative prohibition", "policy"),
        ("Exim", nil, "550-Verification failed for <bounce@example.com> 550-No Such User Here 550 Sender verify failed", "policy"),
        ("qmail", nil, "Sorry, no mailbox here by that name. (#5.1.1)", "user_unknown"),
        ("qmail", nil, "Sorry, I couldn't find any host named nowhere.example. (#5.1.2)", "host_unknown"),
        ("qmail", nil, "Sorry, I wasn't able to establish an SMTP connection. (#4.4.1)", "network_error"),
        ("Sendmail", "5.1.1", "550 5.1.1 <abc@example.org>... User unknown", "user_unknown"),
        ("Sendmail", "5.3.4", "552 5.3.4 Message size exceeds fixed limit", "message_too_large"),
        ("Sendmail", "4.4.7", "Message could not be delivered for 5 days", "expired"),
        ("Zimbra", "5.2.2", "552 5.2.2 Over quota", "mailbox_full"),
        ("Mimecast", nil, "550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550", "user_unknown"),
        ("Mimecast", nil, "550 Rejected by header based Anti-Spoofing policy: abc@example.org - https://community.mimecast.com/docs/DOC-1369#550", "policy"),
        ("Mimecast", nil, "554 Email rejected due to security policies - https://community.mimecast.com/docs/DOC-1369#554", "policy"),
        ("Proofpoint", "5.7.0", "554 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=192.0.2.1", "blocked"),
        ("Proofpoint", "5.7.1", "550 5.7.1 Message blocked due to spam content in the message.", "spam"),
        ("Barracuda", nil, "554 Service unavailable; Client host [192.0.2.1] blocked using Barracuda Reputation", "blocked"),
        ("Barracuda", nil, "550 permanent failure for one or more recipients (abc@example.org:blocked)", "blocked"),
        ("Cisco IronPort", nil, "550 #5.1.0 Address rejected abc@example.org", "user_unknown"),
        ("Cisco IronPort", nil, "554 Message refused", "policy"),
        ("GMX", nil, "550 Requested action not taken: mailbox unavailable", "user_unknown"),
        ("GMX", nil, "554-Transaction failed 554-Reject due to policy restrictions.", "policy"),
        ("Web.de", nil, "554-No SMTP service 554 IP address is block listed.", "blocked"),
        ("Orange", "5.1.1", "550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416", "user_unknown"),
        ("Orange", nil, "421 mwinf5c10 ME Service refuse. Veuillez essayer plus tard. Service refused, please try later. OFR_103", "rate_limited"),
        ("Yandex", "5.7.1", "550 5.7.1 No such user!", "user_unknown"),
        ("Yandex", "5.7.1", "554 5.7.1 [2] Message rejected under suspicion of SPAM; https://ya.cc/1IrBc", "spam"),
        ("Yandex", "5.2.2", "552 5.2.2 Mailbox size limit exceeded", "mailbox_full"),
        ("Mail.ru", nil, "550 Message was not accepted -- invalid mailbox.  Local mailbox abc@mail.ru is unavailable: user not found", "user_unknown"),
        ("Mail.ru", nil, "550 spam message rejected. Please visit http://help.mail.ru/notspam-support/id", "spam"),
        ("Tencent QQ", nil, "550 Mailbox not found. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000728", "user_unknown"),
        ("Tencent QQ", nil, "550 Mail content denied. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000726", "spam"),
        ("Tencent QQ", nil, "550 Ip frequency limited. http://service.mail.qq.com/cgi-bin/help?subtype=1&&id=20022&&no=1000722", "rate_limited"),
        ("NetEase", nil, "550 User suspended", "account_suspended"),
        ("NetEase", nil, "554 DT:SPM 163 smtp14, please see http://mail.163.com/help/help_spam_16.htm?ip=192.0.2.1", "spam"),
        ("RFC 3463", "5.7.13", "525 5.7.13 User account disabled", "account_suspended"),
        ("RFC 3463", "5.7.17", "550 5.7.17 Mailbox owner has changed", "has_moved"),
        ("RFC 7505", "5.1.10", "556 5.1.10 Recipient address has null MX", "host_unknown"),
        ("RFC 3463", "5.6.0", "554 5.6.0 Message contains invalid header", "other"),
        ("ClamAV", "5.7.1", "554 5.7.1 Virus found: Eicar-Test-Signature", "spam"),
        ("any", "4.0.0", "421 Service not available, closing transmission channel", "rate_limited"),
        ("any", "5.0.0", nil, "other"),
        ("any", nil, nil, "other"),
    ]
}
