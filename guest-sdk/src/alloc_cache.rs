//! A cache of freed small blocks in front of the guest's allocator.
//!
//! A handler's warm call allocates and frees dozens of small blocks (the
//! nodes and strings of a parsed event, the response's buffers). In a
//! `wasm32-wasip2` guest each of those goes through wasi-libc's dlmalloc,
//! which cost a fifth of a 1 KB API Gateway call on `hello`; native code
//! has glibc's per-thread cache for the same pattern. This is that cache:
//! blocks up to [`MAX_CACHED`] bytes are kept, when freed, on a free list
//! per 16-byte size class, and the next allocation of that class pops one.
//! Measured on `hello` (1 KB event, same host, interleaved runs): warm call
//! 11.9 → 9.5 µs.
//!
//! Every block it hands out is a block of the allocator behind it
//! (`System`, i.e. wasi-libc's `malloc`), allocated at its class's full
//! size. That matters because wasi-libc `free`s some memory that Rust
//! allocated (lists the host returns through `cabi_realloc`), and a block
//! that went through the cache is still a block `free` knows. Each class
//! keeps at most [`CLASS_BUDGET`] bytes, so at most 256 KB sits in the
//! cache instead of going back to the allocator. (A budget of 32 blocks per
//! class was too few for `hello`'s event: 10.2 µs.)
//!
//! It is the guest's `#[global_allocator]` on single-threaded wasm (feature
//! `alloc-cache`, on by default; without it, for instance to install an
//! allocator of your own, turn default features off). Native builds, such
//! as unit tests, keep the system allocator.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::ptr;

/// Size classes are this many bytes apart.
const GRANULE: usize = 16;
/// The largest request served from the cache.
pub const MAX_CACHED: usize = 512;
/// The most bytes of freed blocks kept per class: 512 blocks of 16 bytes,
/// 16 of 512.
pub const CLASS_BUDGET: usize = 8 << 10;
/// The strictest alignment served from the cache. Classes are allocated
/// from the allocator behind with this alignment, so any block of a class
/// fits any cached request of that class.
const ALIGN: usize = 8;
const CLASSES: usize = MAX_CACHED / GRANULE;

/// The free lists. Touched only through `&self` methods of a value that is
/// never shared across threads (see the `Sync` impl below).
struct Lists {
    /// The first free block of each class; each free block starts with a
    /// pointer to the next.
    heads: [*mut u8; CLASSES + 1],
    counts: [u32; CLASSES + 1],
}

/// `A` with a cache of freed small blocks in front of it.
pub struct CachingAlloc<A> {
    inner: A,
    lists: UnsafeCell<Lists>,
}

// SAFETY: on wasm without the atomics feature there is exactly one thread,
// so the free lists are never touched concurrently.
#[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
unsafe impl<A: Sync> Sync for CachingAlloc<A> {}

impl<A> CachingAlloc<A> {
    /// An empty cache in front of `inner`.
    pub const fn new(inner: A) -> Self {
        CachingAlloc {
            inner,
            lists: UnsafeCell::new(Lists {
                heads: [ptr::null_mut(); CLASSES + 1],
                counts: [0; CLASSES + 1],
            }),
        }
    }
}

/// The class of a request the cache serves, if it serves it.
#[inline(always)]
fn class(layout: &Layout) -> Option<usize> {
    (layout.align() <= ALIGN && (1..=MAX_CACHED).contains(&layout.size()))
        .then(|| layout.size().div_ceil(GRANULE))
}

/// How many freed blocks class `c` keeps.
#[inline(always)]
fn depth(c: usize) -> usize {
    CLASS_BUDGET / (c * GRANULE)
}

/// The layout a block of class `c` has in the allocator behind.
#[inline(always)]
fn class_layout(c: usize) -> Layout {
    // SAFETY: a non-zero multiple of 16 up to MAX_CACHED, aligned to 8.
    unsafe { Layout::from_size_align_unchecked(c * GRANULE, ALIGN) }
}

unsafe impl<A: GlobalAlloc> GlobalAlloc for CachingAlloc<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(c) = class(&layout) else {
            return unsafe { self.inner.alloc(layout) };
        };
        // SAFETY: single-threaded (see `Sync`), and no reference to the
        // lists outlives this call.
        let lists = unsafe { &mut *self.lists.get() };
        let head = lists.heads[c];
        if head.is_null() {
            return unsafe { self.inner.alloc(class_layout(c)) };
        }
        // SAFETY: a cached block holds the next pointer in its first bytes.
        lists.heads[c] = unsafe { head.cast::<*mut u8>().read() };
        lists.counts[c] -= 1;
        head
    }

    #[inline]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(c) = class(&layout) else {
            return unsafe { self.inner.dealloc(block, layout) };
        };
        // SAFETY: as in `alloc`.
        let lists = unsafe { &mut *self.lists.get() };
        if lists.counts[c] as usize >= depth(c) {
            return unsafe { self.inner.dealloc(block, class_layout(c)) };
        }
        // SAFETY: the block is at least 16 bytes, aligned to 8, and ours.
        unsafe { block.cast::<*mut u8>().write(lists.heads[c]) };
        lists.heads[c] = block;
        lists.counts[c] += 1;
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if class(&layout).is_none() {
            return unsafe { self.inner.alloc_zeroed(layout) };
        }
        let block = unsafe { self.alloc(layout) };
        if !block.is_null() {
            unsafe { block.write_bytes(0, layout.size()) };
        }
        block
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` is valid for this align.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(&layout), class(&new)) {
            // The block already holds its whole class.
            (Some(from), Some(to)) if from == to => block,
            (None, None) => unsafe { self.inner.realloc(block, layout, new_size) },
            // Between classes (a small vector growing), or into or out of
            // the cached sizes: move, so that the allocator behind always
            // sees a block with the layout it gave it.
            _ => {
                let moved = unsafe { self.alloc(new) };
                if !moved.is_null() {
                    unsafe {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                }
                moved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::alloc::System;

    use super::*;

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 8).unwrap()
    }

    impl<A: GlobalAlloc> CachingAlloc<A> {
        fn cached(&self, c: usize) -> u32 {
            unsafe { (*self.lists.get()).counts[c] }
        }

        /// Gives every cached block back to the allocator behind.
        fn drain(&self) {
            let lists = unsafe { &mut *self.lists.get() };
            for c in 1..=CLASSES {
                while !lists.heads[c].is_null() {
                    let block = lists.heads[c];
                    lists.heads[c] = unsafe { block.cast::<*mut u8>().read() };
                    lists.counts[c] -= 1;
                    unsafe { self.inner.dealloc(block, class_layout(c)) };
                }
            }
        }
    }

    #[test]
    fn a_freed_block_serves_the_next_request_of_its_class() {
        let a = CachingAlloc::new(System);
        unsafe {
            let first = a.alloc(layout(20));
            a.dealloc(first, layout(20));
            assert_eq!(a.cached(2), 1);
            // 17..=32 bytes share a class; the block holds all 32.
            let again = a.alloc(layout(32));
            assert_eq!(again, first);
            assert_eq!(a.cached(2), 0);
            again.write_bytes(0xAB, 32);
            // Another class gets another block.
            let other = a.alloc(layout(48));
            assert_ne!(other, first);
            a.dealloc(other, layout(48));
            a.dealloc(again, layout(32));
        }
        a.drain();
    }

    #[test]
    fn each_class_keeps_at_most_its_budget() {
        let a = CachingAlloc::new(System);
        let blocks: Vec<_> = (0..depth(4) + 8)
            .map(|_| unsafe { a.alloc(layout(64)) })
            .collect();
        for &b in &blocks {
            unsafe { a.dealloc(b, layout(64)) };
        }
        assert_eq!(a.cached(4) as usize, depth(4));
        assert_eq!(depth(4), CLASS_BUDGET / 64);
        a.drain();
    }

    #[test]
    fn large_and_overaligned_requests_pass_through() {
        let a = CachingAlloc::new(System);
        unsafe {
            let big = a.alloc(layout(MAX_CACHED + 1));
            a.dealloc(big, layout(MAX_CACHED + 1));
            let aligned = Layout::from_size_align(64, 64).unwrap();
            let block = a.alloc(aligned);
            assert_eq!(block as usize % 64, 0);
            a.dealloc(block, aligned);
        }
        assert!((1..=CLASSES).all(|c| a.cached(c) == 0));
    }

    #[test]
    fn realloc_keeps_contents_across_classes_and_sizes() {
        let a = CachingAlloc::new(System);
        unsafe {
            let mut block = a.alloc(layout(10));
            for i in 0..10 {
                block.add(i).write(i as u8);
            }
            let mut size = 10;
            // Within its class, then to another class, then past the cache
            // and back: the first ten bytes survive every move.
            for new_size in [16, 100, 4000, 30, 12] {
                block = a.realloc(block, layout(size), new_size);
                assert!(!block.is_null());
                for i in 0..10 {
                    assert_eq!(block.add(i).read(), i as u8, "after realloc to {new_size}");
                }
                size = new_size;
            }
            a.dealloc(block, layout(size));
            let zeroed = a.alloc_zeroed(layout(size));
            assert!((0..size).all(|i| zeroed.add(i).read() == 0));
            a.dealloc(zeroed, layout(size));
        }
        a.drain();
    }
}
