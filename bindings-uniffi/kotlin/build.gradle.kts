// ai.polargrid.core: the PolarGrid core (Rust, through uniffi) with a Kotlin layer on java.net.http.
//
// The uniffi glue (src/generated/kotlin, not committed) and libpolargrid_uniffi come from
// `scripts/build-mobile.sh kotlin`. On this machine Gradle and Maven Central are unreachable, so the
// tests compile these same source sets with kotlinc directly; this file is the layout an app or a
// CI with Maven access builds from (an Android app adds the .so per ABI under jniLibs).
plugins {
    kotlin("jvm") version "2.4.20"
}

group = "ai.polargrid"
version = "0.1.0"

repositories { mavenCentral() }

dependencies {
    implementation("net.java.dev.jna:jna:5.13.0")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.8.0")
}

kotlin { jvmToolchain(17) }

sourceSets {
    main { kotlin.srcDir("src/generated/kotlin") }
    create("conformance") {
        kotlin.srcDir("src/conformance/kotlin")
        compileClasspath += sourceSets.main.get().output + sourceSets.test.get().output
        runtimeClasspath += sourceSets.main.get().output + sourceSets.test.get().output
    }
}

tasks.test {
    // The suite starts the emulator (cargo build -p polargrid-emulator) and loads the .so from here.
    systemProperty("jna.library.path", rootProject.projectDir.resolve("../../target/mobile/lib").absolutePath)
}
