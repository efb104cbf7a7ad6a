import Foundation
import HeraldCore
import Hummingbird
import HummingbirdTesting
import Testing

/// The API description is the API: every documented operation exists and answers with one
/// of its documented statuses, its JSON as that status's schema says.
@Suite struct OpenAPITests {
    @Test func everyDocumentedRouteAnswersAsDocumented() async throws {
        try await WebFixture.with { f, client in
            let document = try #require(try await client.api(.get, "/api/openapi.json", token: nil).json)
            let doc = try #require(document.objectValue)
            let check = OpenAPISchemaCheck(document: document)
            let paths = try #require(doc["paths"]?.objectValue)
            #expect(paths.count >= 20)
            // Something to point the path parameters at.
            _ = try await client.api(.post, "/api/v1/modules/contacts/records", token: f.adminToken, json: ["last_name": "Doc"])
            _ = try await client.api(.post, "/api/v1/modules/contacts/views", token: f.adminToken, json: ["name": "Doc", "criteria": ["all": []]])
            _ = try await client.api(.post, "/api/v1/modules/contacts/lists", token: f.adminToken, json: ["name": "Doc"])
            _ = try await client.api(.post, "/api/v1/modules/contacts/fields", token: f.adminToken, json: ["label": "Doc Field", "type": "text"])
            // …and one of each thing whose answer has a schema to hold it to.
            _ = try await client.api(.post, "/api/v1/modules/contacts/templates", token: f.adminToken,
                                     json: ["name": "Doc", "subject": "Hi {{first_name}}", "html": "<p>Hi</p>"])
            _ = try await client.api(.post, "/api/v1/senders", token: f.adminToken, json: ["email": "doc@example.com", "name": "Doc"])
            let task = try await client.api(.post, "/api/v1/tasks", token: f.adminToken,
                                     json: ["module": "contacts", "record_id": 1, "subject": "Call back", "due_date": "2030-01-02"])
            _ = try await client.api(.post, "/api/v1/calls", token: f.adminToken,
                                     json: ["module": "contacts", "record_id": 1, "subject": "Intro", "start_at": "2030-01-02T09:30:00Z"])
            _ = try await client.api(.post, "/api/v1/domains", token: f.adminToken, json: ["domain": "example.com"])
            try await f.store.suppressions.add("gone@example.com", reason: "manual")
            #expect(task.status == .created, "\(task.text)")
            for (path, item) in paths.sorted(by: { $0.key < $1.key }) {
                // Reading before changing and deleting, so that a GET sees the thing it describes.
                let order = ["get", "post", "put", "patch", "delete"]
                let operations = (item.objectValue ?? [:]).filter { $0.key != "parameters" }
                    .sorted { (order.firstIndex(of: $0.key) ?? 9) < (order.firstIndex(of: $1.key) ?? 9) }
                for (method, operation) in operations {
                    let uri = path.replacingOccurrences(of: "{module}", with: "contacts").replacingOccurrences(of: "{id}", with: "1")
                        .replacingOccurrences(of: "{field}", with: "doc_field")
                    let documented = Set(operation.objectValue?["responses"]?.objectValue?.keys.map { $0 } ?? [])
                    let m = HTTPRequest.Method(rawValue: method.uppercased())!
                    let isCSV = path.hasSuffix("/import")
                    let response = try await client.api(m, uri, token: f.adminToken, json: isCSV || m == .get || m == .delete ? nil : [:],
                                                        raw: isCSV ? "Last Name\nX\n" : nil, contentType: isCSV ? "text/csv" : "application/json")
                    #expect(documented.contains(String(response.status.code)), "\(method.uppercased()) \(path) answered \(response.status.code), documented \(documented.sorted())")
                    let answer = operation.objectValue?["responses"]?.objectValue?[String(response.status.code)]
                    if let schema = answer?.objectValue?["content"]?.objectValue?["application/json"]?.objectValue?["schema"],
                       response.headers[.contentType]?.hasPrefix("application/json") == true {
                        let json = try #require(response.json, "\(method.uppercased()) \(path) answered no JSON")
                        let problems = check.problems(json, against: schema)
                        #expect(problems.isEmpty, "\(method.uppercased()) \(path) \(response.status.code): \(problems.prefix(5))")
                    }
                    if response.status == .notFound {
                        #expect(!response.text.contains("\"Not Found\""), "\(method.uppercased()) \(path) is not routed")
                    }
                }
            }
        }
    }

    @Test func theSchemaCheckSaysWhereAnAnswerDriftedFromTheDocument() throws {
        let document: JSONValue = ["components": ["schemas": ["Task": [
            "type": "object", "additionalProperties": false, "required": ["id", "due_date"],
            "properties": ["id": ["type": "integer", "minimum": 1], "due_date": ["type": "string", "nullable": true],
                           "status": ["type": "string", "enum": ["open", "done"]]],
        ]]]]
        let check = OpenAPISchemaCheck(document: document)
        let task: JSONValue = ["$ref": "#/components/schemas/Task"]
        #expect(check.problems(["id": 3, "due_date": nil, "status": "open"], against: task).isEmpty)
        #expect(check.problems(["id": 0, "status": "late", "extra": true], against: task) == [
            "$.due_date: missing, but required", "$.extra: not in the document", "$.id: 0.0 is below 1.0",
            "$.status: 'late' is not one of the documented values"])
        #expect(check.problems(["tasks": [["id": 1.5, "due_date": 2]]], against: ["type": "object", "properties": ["tasks": ["type": "array", "items": task]]])
                == ["$.tasks[0].due_date: a number, not string", "$.tasks[0].id: 1.5 is not a whole number"])
    }
}
