import Foundation
import HeraldCore
import Hummingbird
import HummingbirdTesting
import Testing

/// The API description is the API: every documented operation exists and answers with one
/// of its documented statuses.
@Suite struct OpenAPITests {
    @Test func everyDocumentedRouteAnswersAsDocumented() async throws {
        try await WebFixture.with { f, client in
            let doc = try #require(try await client.api(.get, "/api/openapi.json", token: nil).json?.objectValue)
            let paths = try #require(doc["paths"]?.objectValue)
            #expect(paths.count >= 20)
            // Something to point the path parameters at.
            _ = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken, json: ["last_name": "Doc"])
            _ = try await client.api(.post, "/api/v1/modules/contacts/views", token: f.adminToken, json: ["name": "Doc", "criteria": ["all": []]])
            _ = try await client.api(.post, "/api/v1/modules/contacts/lists", token: f.adminToken, json: ["name": "Doc"])
            _ = try await client.api(.post, "/api/v1/modules/contacts/fields", token: f.adminToken, json: ["label": "Doc Field", "type": "text"])
            for (path, item) in paths.sorted(by: { $0.key < $1.key }) {
                for (method, operation) in item.objectValue ?? [:] where method != "parameters" {
                    let uri = path.replacingOccurrences(of: "{module}", with: "contacts").replacingOccurrences(of: "{id}", with: "1")
                        .replacingOccurrences(of: "{field}", with: "doc_field")
                    let documented = Set(operation.objectValue?["responses"]?.objectValue?.keys.map { $0 } ?? [])
                    let m = HTTPRequest.Method(rawValue: method.uppercased())!
                    let isCSV = path.hasSuffix("/import")
                    let response = try await client.api(m, uri, token: f.adminToken, json: isCSV || m == .get || m == .delete ? nil : [:],
                                                        raw: isCSV ? "Last Name\nX\n" : nil, contentType: isCSV ? "text/csv" : "application/json")
                    #expect(documented.contains(String(response.status.code)), "\(method.uppercased()) \(path) answered \(response.status.code), documented \(documented.sorted())")
                    if response.status == .notFound {
                        #expect(!response.text.contains("\"Not Found\""), "\(method.uppercased()) \(path) is not routed")
                    }
                }
            }
        }
    }
}
