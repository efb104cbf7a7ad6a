/// Reads a list of addresses to suppress: a CSV file with an `email` (or `address`) column, or
/// simply one address a line. Every address is checked and normalised; each line that is not
/// one is reported with its number, and duplicates are counted once.
public struct SuppressionImport: Sendable, Hashable {
    /// Normalised (trimmed, lower case), in the order first seen.
    public var addresses: [String] = []
    /// Lines that hold no valid address: "line 4: 'bob@' is not a valid email address".
    public var problems: [Problem] = []
    /// Addresses that appeared more than once in the file.
    public var repeated = 0

    /// At most this many addresses in one import.
    public static let limit = 100_000

    public init(text: String) {
        var parser = CSVParser()
        let rows: [CSVParser.Row]
        do {
            rows = try parser.feed(Array(text.utf8)) + parser.finish()
        } catch {
            problems.append(Problem(field: "line \(error.line)", reason: error.reason))
            return
        }
        // With a header, the column named email or address (else the first); without one,
        // every cell with an "@", split at semicolons and spaces too (a pasted "a@x.org, b@y.org"
        // line holds two addresses, and the second was dropped unsaid).
        var column: Int?
        var body = rows[...]
        if let header = rows.first, !header.fields.contains(where: { $0.contains("@") }) {
            let names = header.fields.map { $0.trimmedWhitespace.lowercased() }
            column = names.firstIndex { ["email", "e-mail", "email address", "address"].contains($0) } ?? 0
            body = rows.dropFirst()
        }
        var seen = Set<String>()
        rows: for row in body {
            let cells = row.fields.map(\.trimmedWhitespace)
            if cells.allSatisfy(\.isEmpty) { continue }
            let candidates = if let column { [cells.indices.contains(column) ? cells[column] : ""] } else {
                cells.flatMap { $0.split(whereSeparator: { $0 == ";" || $0.isWhitespace }).map(String.init) }.filter { $0.contains("@") }
            }
            if candidates.allSatisfy(\.isEmpty) {
                problems.append(Problem(field: "line \(row.line)", reason: cells.first { !$0.isEmpty }.map { "'\($0)' is not a valid email address" } ?? "no address"))
                continue
            }
            for raw in candidates {
                guard EmailAddress.isValid(raw) else {
                    problems.append(Problem(field: "line \(row.line)", reason: raw.isEmpty ? "no address" : "'\(raw)' is not a valid email address"))
                    continue
                }
                let address = EmailAddress.normalized(raw)
                if seen.insert(address).inserted {
                    guard addresses.count < Self.limit else {
                        problems.append(Problem(field: "line \(row.line)", reason: "more than \(Self.limit) addresses; import the rest separately"))
                        break rows
                    }
                    addresses.append(address)
                } else {
                    repeated += 1
                }
            }
        }
    }
}
