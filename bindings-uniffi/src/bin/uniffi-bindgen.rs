//! uniffi's binding generator, pinned to the crate's uniffi version (maturin runs it for
//! the Python wheel; the Kotlin and Swift builds run it with `--language kotlin|swift`).
//! Built only with the `bindgen` feature: the library itself depends on uniffi without `cli`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
