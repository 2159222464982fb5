//! uniffi's binding generator, pinned to the crate's uniffi version (maturin runs it for
//! the Python wheel; the Kotlin and Swift builds run it with `--language kotlin|swift`).

fn main() {
    uniffi::uniffi_bindgen_main()
}
