// The Android library (AAR) of ai.polargrid.core: the same hand-written layer as the JVM build,
// the uniffi glue generated with `android = true`, JNA as an AAR (it carries libjnidispatch.so per
// ABI), and libpolargrid_uniffi.so per ABI under src/main/jniLibs. scripts/build-android.sh
// produces the glue and the .so files (cargo-ndk; needs the Android NDK). Not built in this
// repository's CI: neither the Android SDK nor Maven Central/Google's Maven are reachable there.
plugins {
    id("com.android.library")
    kotlin("android")
}

android {
    namespace = "ai.polargrid.core"
    compileSdk = 35
    defaultConfig {
        // 21: HttpURLConnection, JNA 5 and kotlinx-coroutines all run there, and the package uses
        // nothing newer (scripts/check-android-api.sh proves it for every build).
        minSdk = 21
        consumerProguardFiles("consumer-rules.pro")
    }
    sourceSets["main"].apply {
        java.srcDirs("../src/main/kotlin", "src/generated/kotlin")
        jniLibs.srcDirs("src/main/jniLibs")
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_1_8
        targetCompatibility = JavaVersion.VERSION_1_8
    }
    kotlinOptions { jvmTarget = "1.8" }
}

dependencies {
    // JNA's AAR, not its jar: the AAR carries libjnidispatch.so for every Android ABI.
    implementation("net.java.dev.jna:jna:5.13.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.8.0")
    // The `android = true` glue annotates uniffi's API-34 cleaner with @RequiresApi.
    implementation("androidx.annotation:annotation:1.9.1")
}
