//! The monitor's heap: `linked_list_allocator` behind per-size-class free lists.
//!
//! A first-fit list allocator slows down with fragmentation, and the machine allocates
//! and frees many same-sized objects (lowered blocks, their op vectors). Sizes up to
//! `MAX_CLASS` are served from power-of-two classes whose freed blocks are kept for
//! reuse; larger ones go to the list allocator directly.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;
use linked_list_allocator::LockedHeap;
use spin::Mutex;

const MIN_SHIFT: u32 = 4;
const MAX_SHIFT: u32 = 16;
const CLASSES: usize = (MAX_SHIFT - MIN_SHIFT + 1) as usize;

/// A freed block on a class list.
struct Free {
    next: *mut Free,
}

struct Lists([*mut Free; CLASSES]);
// SAFETY: the raw pointers are only touched under the Mutex.
unsafe impl Send for Lists {}

pub struct Heap {
    backing: LockedHeap,
    lists: Mutex<Lists>,
}

/// The class of a layout: its size and alignment rounded up to a power of two.
fn class_of(layout: &Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(1 << MIN_SHIFT);
    let shift = size.next_power_of_two().trailing_zeros();
    (shift <= MAX_SHIFT).then(|| (shift - MIN_SHIFT) as usize)
}

fn class_layout(class: usize) -> Layout {
    let size = 1usize << (class as u32 + MIN_SHIFT);
    // A power of two no larger than 64 KiB: always a valid layout.
    Layout::from_size_align(size, size.min(4096)).unwrap_or(Layout::new::<u8>())
}

impl Heap {
    pub const fn empty() -> Heap {
        Heap {
            backing: LockedHeap::empty(),
            lists: Mutex::new(Lists([ptr::null_mut(); CLASSES])),
        }
    }

    /// Hands `size` bytes at `start` to the heap.
    ///
    /// # Safety
    /// The memory must be unused, writable, and live for the rest of the run.
    pub unsafe fn init(&self, start: *mut u8, size: usize) {
        // SAFETY: forwarded from the caller.
        unsafe { self.backing.lock().init(start, size) }
    }
}

// SAFETY: every block handed out is either a fresh allocation of the backing heap with
// a layout at least as large and aligned as requested (class blocks are allocated with
// the class layout, whose size and alignment cover any layout of that class), or a
// class block freed earlier with the same class; blocks are never handed out twice.
unsafe impl GlobalAlloc for Heap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class_of(&layout) {
            Some(c) => {
                let mut lists = self.lists.lock();
                let head = lists.0[c];
                if !head.is_null() {
                    // SAFETY: `head` is a freed block of this class we own.
                    lists.0[c] = unsafe { (*head).next };
                    return head.cast();
                }
                drop(lists);
                // SAFETY: a valid, non-zero-sized layout.
                unsafe { self.backing.alloc(class_layout(c)) }
            }
            // SAFETY: forwarded.
            None => unsafe { self.backing.alloc(layout) },
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        match class_of(&layout) {
            Some(c) => {
                let mut lists = self.lists.lock();
                let node = p.cast::<Free>();
                // SAFETY: `p` is a block of this class (at least 16 bytes, aligned)
                // that the caller gives back; we keep it on the class list.
                unsafe { node.write(Free { next: lists.0[c] }) };
                lists.0[c] = node;
            }
            // SAFETY: forwarded: `p` came from the backing heap with this layout.
            None => unsafe { self.backing.dealloc(p, layout) },
        }
    }
}
