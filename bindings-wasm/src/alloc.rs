//! The wasm build's allocator: talc instead of Rust's default dlmalloc, for size (the npm
//! package's wasm: 163,354 -> see the commit that added this file for the measured bytes).
//! talc keeps freed blocks on free lists and coalesces neighbours, so memory freed by a
//! long-lived client (months of calls and refreshes) is reused, not leaked; the heap grows
//! with `memory.grow` only when no free block fits.

#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static TALC: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
