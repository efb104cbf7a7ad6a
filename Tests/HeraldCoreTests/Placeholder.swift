import Testing
@testable import HeraldCore
@Test func placeholder() { #expect(true) }
