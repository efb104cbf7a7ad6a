import Foundation

/// Rewrites a template's HTML for tracking, once, when a mass email's template is compiled:
/// every trackable link's address becomes a merge tag that the sending engine fills with the
/// recipient's signed click URL, and an open pixel, a hidden trap link and (when the template
/// has none) an unsubscribe link are added.
///
/// A link is tracked when its address is a plain `http` or `https` URL. These are left as
/// written: links marked `data-herald-notrack`, `mailto:`, `tel:` and other schemes, page
/// anchors, the unsubscribe link, and links whose address holds a merge field (their address
/// differs per recipient, and a click must only ever lead to an address stored for the link).
public struct LinkTracking: Sendable, Hashable {
    /// The merge names the rewritten HTML uses, beside `herald_click_N` for link N.
    public static let openName = "herald_open_url"
    public static let trapName = "herald_trap_url"
    public static let unsubscribeName = "unsubscribe_url"
    public static func clickName(_ index: Int) -> String { "herald_click_\(index)" }

    /// The HTML with tracked links, the pixel, the trap and the unsubscribe link.
    public var html: String
    /// The tracked links' addresses, by index: what a click on link N redirects to.
    public var links: [String]
    /// Every merge name that the rewritten HTML (and a text part with an unsubscribe line) uses.
    public var names: Set<String> {
        Set(links.indices.map(Self.clickName)).union([Self.openName, Self.trapName, Self.unsubscribeName])
    }

    public init(html source: String) {
        let chars = Array(source)
        var out = ""
        out.reserveCapacity(source.utf8.count + 512)
        var links: [String] = []
        var i = 0
        var copied = 0
        while i < chars.count {
            guard chars[i] == "<", let end = HTMLText.tagEnd(chars, from: i) else { i += 1; continue }
            if Self.isAnchor(chars, at: i), let href = Self.attribute("href", in: chars, from: i + 2, to: end),
               Self.tracks(chars, href: href, from: i + 2, to: end) {
                let url = HTMLText.decode(String(chars[href.value]).trimmedWhitespace)
                out += String(chars[copied..<href.replace.lowerBound])
                out += "\"{{\(Self.clickName(links.count))}}\""
                links.append(url)
                copied = href.replace.upperBound
            }
            i = end + 1
        }
        out += String(chars[copied...])
        var ending = ""
        if !Self.usesUnsubscribe(source) {
            ending += "<p style=\"margin:24px 0 0;font-size:12px;color:#6b7280\">Don't want these emails? "
                + "<a href=\"{{\(Self.unsubscribeName)}}\" style=\"color:#6b7280\">Unsubscribe</a>.</p>"
        }
        // The trap is a link no person sees or can reach: following it is a scanner's doing.
        ending += "<a href=\"{{\(Self.trapName)}}\" style=\"display:none!important;font-size:0;color:transparent\" "
            + "tabindex=\"-1\" aria-hidden=\"true\"></a>"
        ending += "<img src=\"{{\(Self.openName)}}\" width=\"1\" height=\"1\" alt=\"\" "
            + "style=\"display:block;width:1px;height:1px;border:0\">"
        if let body = Self.lastBodyClose(out) {
            out.insert(contentsOf: ending, at: body)
        } else {
            out += ending
        }
        self.html = out
        self.links = links
    }

    /// The text part with an unsubscribe line when it has none.
    public static func text(_ text: String) -> String {
        usesUnsubscribe(text) ? text : text + "\n\nUnsubscribe: {{\(unsubscribeName)}}\n"
    }

    /// Whether a template part already places the unsubscribe link itself.
    public static func usesUnsubscribe(_ part: String) -> Bool {
        let (pieces, _) = MergeTagScanner.scan(part)
        return pieces.contains { if case .tag(let tag) = $0 { tag.name == unsubscribeName } else { false } }
    }

    private static func isAnchor(_ chars: [Character], at i: Int) -> Bool {
        i + 2 < chars.count && (chars[i + 1] == "a" || chars[i + 1] == "A") && chars[i + 2].isWhitespace
    }

    private static func tracks(_ chars: [Character], href: (value: Range<Int>, replace: Range<Int>), from: Int, to: Int) -> Bool {
        if attribute("data-herald-notrack", in: chars, from: from, to: to) != nil { return false }
        let value = String(chars[href.value]).trimmedWhitespace
        if value.contains("{{") { return false }
        let lower = HTMLText.decode(value).lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    /// Where the attribute's value is (without quotes) and what to replace (with quotes), in
    /// the tag's attributes between `from` and `to` (the `>`).
    private static func attribute(_ wanted: String, in chars: [Character], from: Int, to: Int)
        -> (value: Range<Int>, replace: Range<Int>)? {
        var i = from
        while i < to {
            while i < to, chars[i].isWhitespace || chars[i] == "/" { i += 1 }
            let start = i
            while i < to, !chars[i].isWhitespace, chars[i] != "=", chars[i] != "/" { i += 1 }
            let name = String(chars[start..<i]).lowercased()
            while i < to, chars[i].isWhitespace { i += 1 }
            var found: (value: Range<Int>, replace: Range<Int>) = (i..<i, i..<i)
            if i < to, chars[i] == "=" {
                i += 1
                while i < to, chars[i].isWhitespace { i += 1 }
                if i < to, chars[i] == "\"" || chars[i] == "'" {
                    let quote = chars[i]
                    let open = i
                    i += 1
                    while i < to, chars[i] != quote { i += 1 }
                    found = (open + 1..<i, open..<min(i + 1, to))
                    i += 1
                } else {
                    let valueStart = i
                    while i < to, !chars[i].isWhitespace { i += 1 }
                    found = (valueStart..<i, valueStart..<i)
                }
            }
            if name == wanted { return found }
            if name.isEmpty { i += 1 }
        }
        return nil
    }

    private static func lastBodyClose(_ html: String) -> String.Index? {
        html.range(of: "</body", options: [.caseInsensitive, .backwards])?.lowerBound
    }
}
