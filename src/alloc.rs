//! The process allocator, for every binary that links shukka (the product, its tests and
//! benches alike): mimalloc. Intake and index rebuilds are allocation-heavy (sled copies its
//! nodes on every insert); with glibc's allocator malloc/free were ~30 % of an intake profile,
//! and mimalloc gave +35 % orders/s in the same benchmark.

use std::os::raw::c_int;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc.h (v3): the libmimalloc-sys bindings name the options
/// around it but not this one. A unit test checks it against its default in v3's options.c
/// (1000 ms).
const PURGE_DELAY: c_int = 15;

/// Freed memory goes back to the OS at once instead of after a delay. Without it, the pages
/// of a console's first load (40 MB of summaries at 100,000 instructions) stayed resident:
/// 214 MiB console / 272 MiB server against 129 / 162 MiB with it.
pub fn return_memory_promptly() {
    // SAFETY: sets a process-wide option; mimalloc allows this at any time.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 0) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_option_is_the_one_we_mean() {
        // SAFETY: reads and sets a process-wide allocator option.
        let default = unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
        assert_eq!(
            default, 1000,
            "mimalloc v3's purge_delay default (options.c)"
        );
        super::return_memory_promptly();
        let now = unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
        assert_eq!(now, 0);
    }
}
