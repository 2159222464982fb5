// ai.polargrid.core for the JVM: the PolarGrid core (Rust, through uniffi) with a Kotlin layer on
// HttpURLConnection (no HTTP dependency). Beside it: :android (the AAR, android/build.gradle.kts) and
// :okhttp (OkHttpStack, okhttp/build.gradle.kts).
//
// The uniffi glue (src/generated/kotlin, not committed) and libpolargrid_uniffi come from
// `scripts/build-mobile.sh kotlin`. On this machine Gradle and Maven Central are unreachable, so the
// tests compile these same source sets with kotlinc directly; this file is the layout an app or a
// CI with Maven access builds from.
plugins {
    kotlin("jvm") version "2.4.20"
    kotlin("android") version "2.4.20" apply false
    id("com.android.library") version "8.7.3" apply false
}

group = "ai.polargrid"
version = "0.1.0"

dependencies {
    implementation("net.java.dev.jna:jna:5.13.0")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.8.0")
    testImplementation("com.squareup.okhttp3:okhttp:3.13.1")
}

kotlin {
    jvmToolchain(17)
    // Java 8 bytecode, as Android compiles it (scripts/check-android-api.sh checks the API level).
    compilerOptions { jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_1_8) }
}
java { sourceCompatibility = JavaVersion.VERSION_1_8; targetCompatibility = JavaVersion.VERSION_1_8 }

sourceSets {
    main { kotlin.srcDir("src/generated/kotlin") }
    test { kotlin.srcDir("src/okhttp/kotlin") }
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
