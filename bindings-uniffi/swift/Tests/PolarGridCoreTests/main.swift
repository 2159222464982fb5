import XCTest
// Linux has no test discovery without SwiftPM: list the cases (SwiftPM ignores this file on Apple platforms' `swift test`).
XCTMain([testCase(PolarGridTests.allTests), testCase(SecretsTests.allTests)])
