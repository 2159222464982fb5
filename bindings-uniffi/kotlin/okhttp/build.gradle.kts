// ai.polargrid.core.okhttp.OkHttpStack: the client on the app's own OkHttp (3.12+ or 4.x). A JVM
// module (no Android resources), usable from the Android library and from the JVM build alike.
plugins {
    kotlin("jvm")
}

dependencies {
    compileOnly(project(":"))
    // The app brings its own OkHttp; 3.13 is what the stack is compiled and tested against here.
    compileOnly("com.squareup.okhttp3:okhttp:3.13.1")
}

kotlin { jvmToolchain(17) }
sourceSets { main { kotlin.srcDir("../src/okhttp/kotlin") } }
tasks.withType<org.jetbrains.kotlin.gradle.tasks.KotlinCompile>().configureEach {
    compilerOptions { jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_1_8) }
}
