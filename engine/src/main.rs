//! The engine binary: a tiny ring-0 kernel (`kernel`) and the ring-3 monitor
//! (`monitor`), loaded by the launcher through KVM or by the `bootloader` crate
//! under QEMU. It only builds for `x86_64-unknown-none`.
#![cfg_attr(target_os = "none", no_std, no_main)]

#[cfg(target_os = "none")]
extern crate alloc;

#[cfg(target_os = "none")]
mod kernel;
#[cfg(target_os = "none")]
mod monitor;

#[cfg(target_os = "none")]
mod entry {
    use bootloader_api::config::{BootloaderConfig, Mapping};
    use bootloader_api::{entry_point, BootInfo};
    use shared_abi::layout::PHYS_MAP_BASE;
    use shared_abi::AbiMarker;

    /// The ABI marker the launcher checks.
    #[used]
    #[unsafe(link_section = ".hvabi")]
    static ABI_MARKER: AbiMarker = AbiMarker::CURRENT;

    /// For the `bootloader` crate (QEMU path): map physical memory where the
    /// launcher does, so both hosts hand over the same layout.
    pub static BOOTLOADER_CONFIG: BootloaderConfig = {
        let mut c = BootloaderConfig::new_default();
        c.mappings.physical_memory = Some(Mapping::FixedAddress(PHYS_MAP_BASE));
        c.kernel_stack_size = 256 * 1024;
        c
    };

    entry_point!(kernel_main, config = &BOOTLOADER_CONFIG);

    fn kernel_main(boot_info: &'static mut BootInfo) -> ! {
        crate::kernel::start(boot_info)
    }

    #[panic_handler]
    fn panic(info: &core::panic::PanicInfo) -> ! {
        use core::fmt::Write;
        let mut buf = crate::monitor::console::FmtBuf::<512>::new();
        let _ = write!(buf, "engine panic: {info}");
        crate::monitor::host::panic_exit(buf.as_str())
    }
}

#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!("engine: this binary runs inside the VM; build it with `cargo engine` and start it with the launcher");
    std::process::exit(2);
}
