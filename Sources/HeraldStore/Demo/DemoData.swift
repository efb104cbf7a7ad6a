import Foundation
import HeraldCore

/// A demo organisation's data: a few hundred leads, contacts and deals, two views and a
/// static list, made the same way every time (a seeded generator), so screenshots and
/// tests can rely on it.
public enum DemoData {
    /// Loads the demo data unless the organisation already has contacts. Returns whether it loaded.
    @discardableResult
    public static func load(into store: Store, owners: [Int64], leads: Int = 300, contacts: Int = 300, deals: Int = 150) async throws -> Bool {
        let contactsModule = try await store.modules.named("contacts")
        guard try await store.records.count(in: contactsModule, criteria: .all([]), scope: .all) == 0, !owners.isEmpty else { return false }
        let leadsModule = try await store.modules.named("leads")
        let dealsModule = try await store.modules.named("deals")
        var random = SeededRandom(seed: 42)
        let first = ["Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jonas", "Kai", "Lena", "Mateo", "Nora",
                     "Omar", "Paula", "Quinn", "Rosa", "Sven", "Tara", "Umar", "Vera", "Wen", "Yusuf", "Zoë", "Chloé", "Søren", "José"]
        let last = ["Adams", "Becker", "Costa", "Dubois", "Evans", "Fischer", "García", "Hansen", "Ivanova", "Jensen", "Kowalski",
                    "Larsen", "Müller", "Novak", "O'Brien", "Petrov", "Quinn", "Rossi", "Schmidt", "Tanaka", "Urban", "Vogel",
                    "Weber", "Xu", "Yilmaz", "Zimmermann"]
        let companies = ["Acme GmbH", "Globex Ltd", "Initech", "Umbrella AG", "Stark & Co", "Wayne Holdings", "Hooli", "Vandelay",
                         "Soylent SA", "Tyrell BV", "Cyberdyne", "Wonka Foods", "Gringotts", "Oceanic Air"]
        let countries = ["Germany", "France", "United Kingdom", "Spain", "Italy", "Netherlands", "Denmark", "Poland", "United States", "Japan"]
        let cities = ["Berlin", "Paris", "London", "Madrid", "Rome", "Amsterdam", "Copenhagen", "Warsaw", "New York", "Tokyo"]
        let titles = ["CEO", "CTO", "Head of Sales", "Marketing Manager", "Buyer", "Engineer", "Office Manager", "CFO"]
        let now = Date()

        func pick<T>(_ items: [T]) -> T { items[random.next(items.count)] }
        func email(_ f: String, _ l: String, _ i: Int) -> String {
            let clean = { (s: String) in s.folding(options: .diacriticInsensitive, locale: nil).lowercased().filter { $0.isASCII && $0.isLetter } }
            return "\(clean(f)).\(clean(l))\(i)@example.com"
        }
        func created(_ i: Int) -> Date { now.addingTimeInterval(-Double(random.next(200)) * 86_400 - Double(i)) }

        for i in 0..<leads {
            let f = pick(first), l = pick(last)
            var values: [String: FieldValue?] = [
                "first_name": .text(f), "last_name": .text(l), "company": .text(pick(companies)),
                "email": .text(email(f, l, i)), "phone": .text("+49 30 \(1_000_000 + random.next(8_999_999))"),
                "country": .text(pick(countries)),
                "lead_status": .text(pick(leadsModule.field("lead_status")!.picklistValues)),
                "lead_source": .text(pick(leadsModule.field("lead_source")!.picklistValues)),
                "email_opt_out": .bool(random.next(20) == 0),
                "owner": .reference(pick(owners)),
            ]
            if i % 50 == 7 { values["email"] = nil }
            _ = try await store.records.create(in: leadsModule, RecordChanges(values), owner: pick(owners), now: created(i))
        }
        var contactIDs: [Int64] = []
        for i in 0..<contacts {
            let f = pick(first), l = pick(last)
            let city = random.next(cities.count)
            let values: [String: FieldValue?] = [
                "first_name": .text(f), "last_name": .text(l), "account_name": .text(pick(companies)),
                "email": .text(email(f, l, i)), "phone": .text("+44 20 \(1_000_000 + random.next(8_999_999))"),
                "title": .text(pick(titles)), "mailing_city": .text(cities[city]), "mailing_country": .text(countries[city]),
                "lead_source": .text(pick(contactsModule.field("lead_source")!.picklistValues)),
                "email_opt_out": .bool(random.next(25) == 0),
                "owner": .reference(pick(owners)),
            ]
            contactIDs.append(try await store.records.create(in: contactsModule, RecordChanges(values), owner: pick(owners), now: created(i)).id)
        }
        for i in 0..<deals {
            let closing = LocalDate(now.addingTimeInterval(Double(random.next(120) - 30) * 86_400), in: .gmt)
            let values: [String: FieldValue?] = [
                "deal_name": .text("\(pick(companies)) – \(pick(["Renewal", "Expansion", "Pilot", "Enterprise plan", "Onboarding"]))"),
                "amount": .currency(Int64(1_000 + random.next(99_000)) * 100),
                "stage": .text(pick(dealsModule.field("stage")!.picklistValues)),
                "closing_date": .date(closing),
                "contact": .reference(pick(contactIDs)),
                "owner": .reference(pick(owners)),
            ]
            _ = try await store.records.create(in: dealsModule, RecordChanges(values), owner: pick(owners), now: created(i))
        }
        _ = try await store.views.create(in: contactsModule, name: "Contacts in Germany", criteria: .all([
            .condition(field: "mailing_country", op: .equals, value: .string("Germany")),
        ]), by: owners.first)
        _ = try await store.views.create(in: contactsModule, name: "Trade show contacts, last 90 days", criteria: .all([
            .condition(field: "lead_source", op: .equals, value: .string("Trade Show")),
            .condition(field: "created_at", op: .withinLastDays, value: .number(90)),
        ]), by: owners.first)
        _ = try await store.views.create(in: leadsModule, name: "Qualified leads", criteria: .all([
            .condition(field: "lead_status", op: .equals, value: .string("Qualified")),
        ]), by: owners.first)
        let list = try await store.lists.create(in: contactsModule, name: "Conference speakers", by: owners.first)
        _ = try await store.lists.add(Array(contactIDs.prefix(12)), to: list.id, in: contactsModule)
        _ = try await store.senders.create(email: "news@example.com", name: "Example News", replyTo: "hello@example.com")
        _ = try await store.templates.create(
            in: contactsModule, name: "Welcome", subject: "Welcome, {{first_name | \"friend\"}}",
            html: """
                <p>Dear {{first_name | "friend"}},</p>
                <p>Thank you for your interest{{#account_name}} at {{account_name}}{{/account_name}}. {{owner.name}} will be in touch.</p>
                <p>Best regards,<br>{{sender.name}}</p>
                """, text: nil, by: owners.first)
        return true
    }
}

/// A small deterministic generator (SplitMix64), so the demo data is the same on every machine.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(_ upperBound: Int) -> Int {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z % UInt64(upperBound))
    }
}
