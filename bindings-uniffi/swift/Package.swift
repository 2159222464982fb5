// swift-tools-version:5.9
// PolarGridCore: the PolarGrid core (Rust, through uniffi) with a Swift layer on URLSession.
//
// This is the development package, beside the crate it binds (bindings-uniffi/, sharing its one
// uniffi.toml). `scripts/build-mobile.sh swift` generates the uniffi glue into
// Sources/PolarGridUniFFI (the Swift side) and Sources/PolarGridCoreFFI (C header + module map),
// and builds libpolargrid_uniffi from the crate; none of that is committed. An app links the library per platform
// (an XCFramework built with cargo for the Apple targets). The tests here are compiled with swiftc
// directly (SwiftPM cannot fetch anything on this machine); the target graph below is the same.
import PackageDescription

let package = Package(
    name: "PolarGridCore",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [.library(name: "PolarGridCore", targets: ["PolarGridCore"])],
    targets: [
        .systemLibrary(name: "PolarGridCoreFFI", path: "Sources/PolarGridCoreFFI"),
        .target(name: "PolarGridUniFFI", dependencies: ["PolarGridCoreFFI"], path: "Sources/PolarGridUniFFI",
                linkerSettings: [.linkedLibrary("polargrid_uniffi")]),
        .target(name: "PolarGridCore", dependencies: ["PolarGridUniFFI"], path: "Sources/PolarGridCore"),
        .executableTarget(name: "ConformanceAdapter", dependencies: ["PolarGridCore"], path: "Sources/ConformanceAdapter"),
        .executableTarget(name: "Bench", dependencies: ["PolarGridCore"], path: "Sources/Bench"),
        .testTarget(name: "PolarGridCoreTests", dependencies: ["PolarGridCore"], path: "Tests/PolarGridCoreTests"),
    ]
)
