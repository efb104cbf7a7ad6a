/// Mail: SMTP, MIME and DKIM for Swift on SwiftNIO. Knows nothing of Herald.
public enum MailLibrary {}
