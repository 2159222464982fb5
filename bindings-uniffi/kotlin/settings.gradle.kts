pluginManagement {
    repositories { google(); mavenCentral(); gradlePluginPortal() }
}
dependencyResolutionManagement {
    repositories { google(); mavenCentral() }
}
rootProject.name = "polargrid-core"
// :android is the AAR (needs the Android SDK; see android/build.gradle.kts); :okhttp the OkHttp stack.
include(":android", ":okhttp")
