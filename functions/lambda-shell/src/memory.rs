//! How the allocator treats an invocation's large, short-lived buffers.
//!
//! Each invocation allocates a few buffers of megabytes (the event's JSON as received and as
//! read, the response, the PutRecordBatch bodies) and frees them when it ends. By default glibc's
//! malloc gives such buffers mappings of their own, or trims the heap once they are freed, so
//! every invocation had the kernel fault the same pages in again: about a third of a warm
//! firehose-transformer invocation's CPU time went to page faults and zeroing. Keeping freed
//! memory in the heap lets the next invocation reuse it. The process keeps its peak footprint,
//! which is what Lambda's memory setting has to allow for anyway.

/// Buffers up to this size come from the heap (glibc's largest accepted value).
const HEAP_UP_TO_BYTES: i32 = 32 << 20;
/// Free memory at the top of the heap is returned to the system only past this much.
const TRIM_ABOVE_BYTES: i32 = 256 << 20;

/// Keeps the memory freed by one invocation for the next (glibc; elsewhere the allocator's own
/// behaviour is kept).
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets malloc's thresholds, under malloc's own lock; the values are
    // within the ranges glibc documents.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, HEAP_UP_TO_BYTES);
        libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_ABOVE_BYTES);
    }
}
