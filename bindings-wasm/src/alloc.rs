//! The wasm build's allocator: talc instead of Rust's default dlmalloc, for size (the npm
//! package's wasm: 163,354 -> see the commit that added this file for the measured bytes).
//! talc keeps freed blocks on free lists and coalesces neighbours, so memory freed by a
//! long-lived client (months of calls and refreshes) is reused, not leaked; the heap grows
//! with `memory.grow` only when no free block fits.
//!
//! In front of it, blocks of up to [`SMALL`] bytes (a call's strings, its records, the
//! nodes of the core's maps: almost every allocation of a call) come from one free list per
//! size class (8, 16, … 256 bytes): a freed small block goes back on its class's list and
//! serves the next allocation of that class, a pop instead of talc's search and
//! coalescing (talc was 15–20% of a call's time in the core). Memory stays reused: what
//! the small classes hold is at most what a call's peak needed of each class.

#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
#[global_allocator]
static ALLOC: Classes = Classes {
    talc: talc::wasm::new_wasm_dynamic_allocator(),
    free: [const { core::cell::Cell::new(core::ptr::null_mut()) }; CLASSES],
};

/// The largest block served by a size class.
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
const SMALL: usize = 256;
/// Size classes: 8, 16, 32, 64, 128 and 256 bytes.
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
const CLASSES: usize = 6;

#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
struct Classes {
    talc: talc::wasm::WasmDynamicTalc,
    /// Each class's free blocks, linked through their first word.
    free: [core::cell::Cell<*mut u8>; CLASSES],
}

// Safety: this wasm build has no threads (no `atomics` feature): nothing is shared.
#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
unsafe impl Sync for Classes {}

/// The class of a block of `size` bytes and alignment `align`, if a class serves it.
#[cfg_attr(not(target_family = "wasm"), allow(dead_code))]
fn class(size: usize, align: usize) -> Option<usize> {
    if size > SMALL || align > 8 {
        return None;
    }
    // 0..=8 -> 0, 9..=16 -> 1, … 129..=256 -> 5.
    let words = size.max(1).div_ceil(8);
    Some((usize::BITS - (words - 1).leading_zeros()) as usize)
}

#[cfg(all(not(target_feature = "atomics"), target_family = "wasm"))]
unsafe impl core::alloc::GlobalAlloc for Classes {
    unsafe fn alloc(&self, layout: core::alloc::Layout) -> *mut u8 {
        let Some(c) = class(layout.size(), layout.align()) else {
            return unsafe { self.talc.alloc(layout) };
        };
        let head = self.free[c].get();
        if !head.is_null() {
            // Safety: a block on a free list holds the next one's address in its first word.
            self.free[c].set(unsafe { head.cast::<*mut u8>().read() });
            return head;
        }
        // Safety: a valid size (8 << c bytes, at most 256) and alignment.
        unsafe {
            self.talc
                .alloc(core::alloc::Layout::from_size_align_unchecked(8 << c, 8))
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: core::alloc::Layout) {
        match class(layout.size(), layout.align()) {
            Some(c) => {
                // Safety: the block is ours again, at least 8 bytes and 8-aligned.
                unsafe { ptr.cast::<*mut u8>().write(self.free[c].get()) };
                self.free[c].set(ptr);
            }
            None => unsafe { self.talc.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: core::alloc::Layout, new: usize) -> *mut u8 {
        let old = class(layout.size(), layout.align());
        let to = class(new, layout.align());
        if old.is_none() && to.is_none() {
            // Both large: talc may grow it in place.
            return unsafe { self.talc.realloc(ptr, layout, new) };
        }
        if old.is_some() && old == to {
            return ptr; // the block already holds `new` bytes
        }
        // Safety: as `GlobalAlloc::realloc`'s default: a new block, the bytes copied over.
        unsafe {
            let layout_new = core::alloc::Layout::from_size_align_unchecked(new, layout.align());
            let p = self.alloc(layout_new);
            if !p.is_null() {
                core::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new));
                self.dealloc(ptr, layout);
            }
            p
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_size_goes_to_the_smallest_class_that_holds_it() {
        let cases = [
            (0, 0),
            (1, 0),
            (8, 0),
            (9, 1),
            (16, 1),
            (17, 2),
            (32, 2),
            (33, 3),
            (64, 3),
            (65, 4),
            (128, 4),
            (129, 5),
            (256, 5),
        ];
        for (size, c) in cases {
            assert_eq!(class(size, 1), Some(c), "size {size}");
            assert!(8 << c >= size);
        }
        assert_eq!(class(257, 1), None);
        assert_eq!(class(16, 16), None);
    }
}
