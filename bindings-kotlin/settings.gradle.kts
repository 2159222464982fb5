rootProject.name = "polargrid-core"
