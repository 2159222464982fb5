import Foundation
import PolarGridUniFFI

// The generated records that can hold a secret (the API key in `Options`, `Authorization` in a
// `Header` or an `HttpRequest`, the session snapshot in a `DriverEvent`) print through the
// crate's redacting `Display`/`Debug` (uniffi's exported traits: `description`,
// `debugDescription`). `dump()` and the debugger read a value's `Mirror` instead, which would list
// every field: these conformances make the mirror hold only the redacted text.

extension Options: CustomReflectable {
    public var customMirror: Mirror { Mirror(self, children: ["redacted": description], displayStyle: .struct) }
}

extension Header: CustomReflectable {
    public var customMirror: Mirror { Mirror(self, children: ["redacted": description], displayStyle: .struct) }
}

extension HttpRequest: CustomReflectable {
    public var customMirror: Mirror { Mirror(self, children: ["redacted": description], displayStyle: .struct) }
}

extension DriverEvent: CustomReflectable {
    public var customMirror: Mirror { Mirror(self, children: ["redacted": description], displayStyle: .enum) }
}

extension Failure: CustomReflectable {
    public var customMirror: Mirror { Mirror(self, children: ["redacted": description], displayStyle: .struct) }
}

extension PolarGridUniFFI.PolarGridError: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        switch self { case .Failed(let failure): return failure.description }
    }
    public var debugDescription: String {
        switch self { case .Failed(let failure): return failure.debugDescription }
    }
    public var customMirror: Mirror { Mirror(self, children: ["redacted": description], displayStyle: .enum) }
}
