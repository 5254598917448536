//! Writing the guest's device tree and the FIT guest package (host side, `std`).

use vm_fdt::FdtWriter;

use super::{
    arm64_image_header, boot_layout, is_arm64_image, is_fdt, parse_package, BootError, BootLayout,
};
use crate::guest::{
    GICC_BASE, GICC_SIZE, GICD_BASE, GICD_SIZE, RAM_BASE, RTC_BASE, RTC_SIZE, RTC_SPI,
    TIMER_PPI_HYP, TIMER_PPI_NONSECURE_PHYS, TIMER_PPI_SECURE_PHYS, TIMER_PPI_VIRT, UART_BASE,
    UART_SIZE, UART_SPI, VIRTIO_MMIO_BASE, VIRTIO_MMIO_COUNT, VIRTIO_MMIO_FIRST_SPI,
    VIRTIO_MMIO_SIZE,
};

/// What the generated DTB describes beyond the fixed platform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DtbConfig<'a> {
    /// Guest RAM bytes (from `RAM_BASE`).
    pub ram_size: u64,
    /// The kernel command line (`/chosen/bootargs`).
    pub bootargs: &'a str,
    /// Guest-physical `[start, end)` of the initrd.
    pub initrd: Option<(u64, u64)>,
    /// Random bytes for `/chosen/rng-seed` (QEMU's `virt` passes one, so the guest's
    /// random pool is ready at boot instead of after a second of jitter collection).
    pub rng_seed: Option<&'a [u8]>,
}

fn err(e: vm_fdt::Error) -> BootError {
    BootError::Build(match e {
        vm_fdt::Error::InvalidString => "a string contains a NUL byte",
        vm_fdt::Error::PropertyValueTooLarge => "a property is larger than 4 GiB",
        vm_fdt::Error::TotalSizeTooLarge => "the blob is larger than 4 GiB",
        _ => "vm-fdt rejected the tree",
    })
}

const PHANDLE_GIC: u32 = 1;
const PHANDLE_CLK: u32 = 2;
/// GIC interrupt specifier: type (0 = SPI, 1 = PPI).
const GIC_SPI: u32 = 0;
const GIC_PPI: u32 = 1;
const IRQ_LEVEL_HIGH: u32 = 4;
/// QEMU describes the virtio-mmio interrupts as edge-triggered; our transport drives
/// a level (interrupt status != 0), which the GIC handles either way.
const IRQ_EDGE_RISING: u32 = 1;
/// PPI flags: the CPU mask for one CPU (bits 8..15) | level-high.
const PPI_FLAGS_1CPU: u32 = (1 << 8) | IRQ_LEVEL_HIGH;
/// PL011 / PL031 bus clock.
const APB_CLOCK_HZ: u32 = 24_000_000;

fn reg(base: u64, size: u64) -> [u64; 2] {
    [base, size]
}

/// The device tree of the `virt`-like platform of [`crate::guest`] (one CPU, GICv2,
/// architected timer, PSCI over HVC, PL011, PL031), with `cfg`'s memory and `/chosen`.
pub fn build_dtb(cfg: &DtbConfig<'_>) -> Result<Vec<u8>, BootError> {
    let mut f = FdtWriter::new().map_err(err)?;
    let root = f.begin_node("").map_err(err)?;
    f.property_string("compatible", "linux,dummy-virt")
        .map_err(err)?;
    f.property_string("model", "hvarm,virt").map_err(err)?;
    f.property_u32("#address-cells", 2).map_err(err)?;
    f.property_u32("#size-cells", 2).map_err(err)?;
    f.property_u32("interrupt-parent", PHANDLE_GIC)
        .map_err(err)?;

    let chosen = f.begin_node("chosen").map_err(err)?;
    f.property_string("bootargs", cfg.bootargs).map_err(err)?;
    f.property_string("stdout-path", &format!("/pl011@{UART_BASE:x}"))
        .map_err(err)?;
    if let Some((start, end)) = cfg.initrd {
        f.property_u64("linux,initrd-start", start).map_err(err)?;
        f.property_u64("linux,initrd-end", end).map_err(err)?;
    }
    if let Some(seed) = cfg.rng_seed {
        f.property("rng-seed", seed).map_err(err)?;
    }
    f.end_node(chosen).map_err(err)?;

    let aliases = f.begin_node("aliases").map_err(err)?;
    f.property_string("serial0", &format!("/pl011@{UART_BASE:x}"))
        .map_err(err)?;
    f.end_node(aliases).map_err(err)?;

    let mem = f.begin_node(&format!("memory@{RAM_BASE:x}")).map_err(err)?;
    f.property_string("device_type", "memory").map_err(err)?;
    f.property_array_u64("reg", &reg(RAM_BASE, cfg.ram_size))
        .map_err(err)?;
    f.end_node(mem).map_err(err)?;

    let cpus = f.begin_node("cpus").map_err(err)?;
    f.property_u32("#address-cells", 1).map_err(err)?;
    f.property_u32("#size-cells", 0).map_err(err)?;
    let cpu = f.begin_node("cpu@0").map_err(err)?;
    f.property_string("device_type", "cpu").map_err(err)?;
    f.property_string("compatible", "arm,cortex-a72")
        .map_err(err)?;
    f.property_u32("reg", 0).map_err(err)?;
    f.property_string("enable-method", "psci").map_err(err)?;
    f.end_node(cpu).map_err(err)?;
    f.end_node(cpus).map_err(err)?;

    let psci = f.begin_node("psci").map_err(err)?;
    f.property_string_list(
        "compatible",
        vec!["arm,psci-1.0".into(), "arm,psci-0.2".into()],
    )
    .map_err(err)?;
    f.property_string("method", "hvc").map_err(err)?;
    f.end_node(psci).map_err(err)?;

    let timer = f.begin_node("timer").map_err(err)?;
    f.property_string("compatible", "arm,armv8-timer")
        .map_err(err)?;
    let mut irqs = Vec::new();
    for ppi in [
        TIMER_PPI_SECURE_PHYS,
        TIMER_PPI_NONSECURE_PHYS,
        TIMER_PPI_VIRT,
        TIMER_PPI_HYP,
    ] {
        irqs.extend_from_slice(&[GIC_PPI, ppi, PPI_FLAGS_1CPU]);
    }
    f.property_array_u32("interrupts", &irqs).map_err(err)?;
    f.property_null("always-on").map_err(err)?;
    f.end_node(timer).map_err(err)?;

    let gic = f.begin_node(&format!("intc@{GICD_BASE:x}")).map_err(err)?;
    f.property_string("compatible", "arm,cortex-a15-gic")
        .map_err(err)?;
    f.property_u32("#interrupt-cells", 3).map_err(err)?;
    f.property_u32("#address-cells", 0).map_err(err)?;
    f.property_null("interrupt-controller").map_err(err)?;
    f.property_array_u64("reg", &[GICD_BASE, GICD_SIZE, GICC_BASE, GICC_SIZE])
        .map_err(err)?;
    f.property_u32("phandle", PHANDLE_GIC).map_err(err)?;
    f.end_node(gic).map_err(err)?;

    let clk = f.begin_node("apb-pclk").map_err(err)?;
    f.property_string("compatible", "fixed-clock")
        .map_err(err)?;
    f.property_u32("#clock-cells", 0).map_err(err)?;
    f.property_u32("clock-frequency", APB_CLOCK_HZ)
        .map_err(err)?;
    f.property_string("clock-output-names", "clk24mhz")
        .map_err(err)?;
    f.property_u32("phandle", PHANDLE_CLK).map_err(err)?;
    f.end_node(clk).map_err(err)?;

    let uart = f.begin_node(&format!("pl011@{UART_BASE:x}")).map_err(err)?;
    f.property_string_list(
        "compatible",
        vec!["arm,pl011".into(), "arm,primecell".into()],
    )
    .map_err(err)?;
    f.property_array_u64("reg", &reg(UART_BASE, UART_SIZE))
        .map_err(err)?;
    f.property_array_u32("interrupts", &[GIC_SPI, UART_SPI, IRQ_LEVEL_HIGH])
        .map_err(err)?;
    f.property_array_u32("clocks", &[PHANDLE_CLK, PHANDLE_CLK])
        .map_err(err)?;
    f.property_string_list("clock-names", vec!["uartclk".into(), "apb_pclk".into()])
        .map_err(err)?;
    f.end_node(uart).map_err(err)?;

    let rtc = f.begin_node(&format!("pl031@{RTC_BASE:x}")).map_err(err)?;
    f.property_string_list(
        "compatible",
        vec!["arm,pl031".into(), "arm,primecell".into()],
    )
    .map_err(err)?;
    f.property_array_u64("reg", &reg(RTC_BASE, RTC_SIZE))
        .map_err(err)?;
    f.property_array_u32("interrupts", &[GIC_SPI, RTC_SPI, IRQ_LEVEL_HIGH])
        .map_err(err)?;
    f.property_array_u32("clocks", &[PHANDLE_CLK])
        .map_err(err)?;
    f.property_string("clock-names", "apb_pclk").map_err(err)?;
    f.end_node(rtc).map_err(err)?;

    // All the virtio-mmio transports, as QEMU's `virt` lists them: an empty slot
    // reads device id 0 and the guest skips it.
    for i in 0..VIRTIO_MMIO_COUNT {
        let base = VIRTIO_MMIO_BASE + u64::from(i) * VIRTIO_MMIO_SIZE;
        let n = f
            .begin_node(&format!("virtio_mmio@{base:x}"))
            .map_err(err)?;
        f.property_null("dma-coherent").map_err(err)?;
        f.property_array_u32(
            "interrupts",
            &[GIC_SPI, VIRTIO_MMIO_FIRST_SPI + i, IRQ_EDGE_RISING],
        )
        .map_err(err)?;
        f.property_array_u64("reg", &reg(base, VIRTIO_MMIO_SIZE))
            .map_err(err)?;
        f.property_string("compatible", "virtio,mmio")
            .map_err(err)?;
        f.end_node(n).map_err(err)?;
    }

    f.end_node(root).map_err(err)?;
    f.finish().map_err(err)
}

/// One image node of a FIT.
fn fit_image(
    f: &mut FdtWriter,
    name: &str,
    description: &str,
    ty: &str,
    data: &[u8],
    load: Option<u64>,
) -> Result<(), BootError> {
    let n = f.begin_node(name).map_err(err)?;
    f.property_string("description", description).map_err(err)?;
    f.property("data", data).map_err(err)?;
    f.property_string("type", ty).map_err(err)?;
    f.property_string("arch", "arm64").map_err(err)?;
    f.property_string("os", "linux").map_err(err)?;
    f.property_string("compression", "none").map_err(err)?;
    if let Some(a) = load {
        // #address-cells = <1> at the root: FIT addresses are one cell when they fit.
        match u32::try_from(a) {
            Ok(a) => {
                f.property_u32("load", a).map_err(err)?;
                f.property_u32("entry", a).map_err(err)?;
            }
            Err(_) => {
                f.property_u64("load", a).map_err(err)?;
                f.property_u64("entry", a).map_err(err)?;
            }
        }
    }
    f.end_node(n).map_err(err)
}

/// Writes a FIT guest package: images `kernel-1`, `ramdisk-1`, `fdt-1` (embedded
/// `data`), configuration `conf-1` (the default) naming them, with `bootargs`.
pub fn build_package(
    kernel: &[u8],
    initrd: Option<&[u8]>,
    dtb: Option<&[u8]>,
    bootargs: Option<&str>,
) -> Result<Vec<u8>, BootError> {
    let load = arm64_image_header(kernel)
        .map(|h| RAM_BASE + h.text_offset)
        .unwrap_or(RAM_BASE);
    let mut f = FdtWriter::new().map_err(err)?;
    let root = f.begin_node("").map_err(err)?;
    f.property_string("description", "hvarm guest package")
        .map_err(err)?;
    // U-Boot's tools want a timestamp; 0 keeps packages reproducible.
    f.property_u32("timestamp", 0).map_err(err)?;
    f.property_u32("#address-cells", 1).map_err(err)?;
    let images = f.begin_node("images").map_err(err)?;
    fit_image(
        &mut f,
        "kernel-1",
        "Linux kernel",
        "kernel",
        kernel,
        Some(load),
    )?;
    if let Some(i) = initrd {
        fit_image(&mut f, "ramdisk-1", "initramfs", "ramdisk", i, None)?;
    }
    if let Some(d) = dtb {
        fit_image(&mut f, "fdt-1", "device tree", "flat_dt", d, None)?;
    }
    f.end_node(images).map_err(err)?;
    let confs = f.begin_node("configurations").map_err(err)?;
    f.property_string("default", "conf-1").map_err(err)?;
    let conf = f.begin_node("conf-1").map_err(err)?;
    f.property_string("kernel", "kernel-1").map_err(err)?;
    if initrd.is_some() {
        f.property_string("ramdisk", "ramdisk-1").map_err(err)?;
    }
    if dtb.is_some() {
        f.property_string("fdt", "fdt-1").map_err(err)?;
    }
    if let Some(b) = bootargs {
        f.property_string("bootargs", b).map_err(err)?;
    }
    f.end_node(conf).map_err(err)?;
    f.end_node(confs).map_err(err)?;
    f.end_node(root).map_err(err)?;
    f.finish().map_err(err)
}

/// Kernel command line when neither the caller nor the FIT gives one.
pub const DEFAULT_BOOTARGS: &str = "console=ttyAMA0";
/// Longest command line (arm64 Linux's COMMAND_LINE_SIZE is 2048, NUL included).
pub const MAX_BOOTARGS: usize = 2047;

/// The package the engine boots, and how it was laid out.
#[derive(Clone, Debug)]
pub struct Package {
    /// FIT with kernel, initrd (if any), the generated DTB and bootargs.
    pub blob: Vec<u8>,
    /// The effective kernel command line.
    pub bootargs: String,
    /// Where the files go in guest RAM (at [`RAM_BASE`]).
    pub layout: BootLayout,
    /// Length of the initrd (0: none).
    pub initrd_len: u64,
}

/// Turns a user's guest file into the engine's package. `guest` is a FIT (its
/// ramdisk and bootargs are used unless `initrd` / `append` override them; a DTB in
/// it is ignored: the platform is ours) or a raw arm64 `Image` (then `initrd` and
/// `append`, default [`DEFAULT_BOOTARGS`], are used as QEMU uses them). Places the
/// files in `ram_size` bytes of RAM with [`boot_layout`], builds the DTB with the
/// initrd's addresses and writes a FIT with [`build_package`].
pub fn make_package(
    guest: &[u8],
    initrd: Option<&[u8]>,
    append: Option<&str>,
    ram_size: u64,
) -> Result<Package, BootError> {
    make_package_seeded(guest, initrd, append, ram_size, None)
}

/// [`make_package`] with a `/chosen/rng-seed` for the guest.
pub fn make_package_seeded(
    guest: &[u8],
    initrd: Option<&[u8]>,
    append: Option<&str>,
    ram_size: u64,
    rng_seed: Option<&[u8]>,
) -> Result<Package, BootError> {
    let (kernel, initrd, bootargs) = if is_fdt(guest) {
        let pkg = parse_package(guest)?;
        (
            pkg.kernel,
            initrd.or(pkg.initrd),
            append.or(pkg.bootargs).unwrap_or(DEFAULT_BOOTARGS),
        )
    } else if is_arm64_image(guest) {
        (guest, initrd, append.unwrap_or(DEFAULT_BOOTARGS))
    } else {
        return Err(BootError::UnknownFormat);
    };
    if bootargs.len() > MAX_BOOTARGS {
        return Err(BootError::BootargsTooLong {
            len: bootargs.len(),
            max: MAX_BOOTARGS,
        });
    }
    let hdr = arm64_image_header(kernel)?;
    let initrd_len = initrd.map_or(0, |i| i.len() as u64);
    let dtb_for = |layout: Option<&BootLayout>| {
        build_dtb(&DtbConfig {
            ram_size,
            bootargs,
            // The addresses do not change the DTB's size: probe with zeros.
            initrd: initrd
                .map(|_| layout.map_or((0, 0), |l| (l.initrd_addr, l.initrd_addr + initrd_len))),
            rng_seed,
        })
    };
    let place = |dtb_len: usize| {
        boot_layout(
            RAM_BASE,
            ram_size,
            &hdr,
            kernel.len() as u64,
            initrd_len,
            dtb_len as u64,
        )
    };
    let probe = dtb_for(None)?;
    let layout = place(probe.len())?;
    let dtb = dtb_for(Some(&layout))?;
    // Same length by construction; place again should that ever change.
    let layout = if dtb.len() == probe.len() {
        layout
    } else {
        place(dtb.len())?
    };
    Ok(Package {
        blob: build_package(kernel, initrd, Some(&dtb), Some(bootargs))?,
        bootargs: bootargs.to_string(),
        layout,
        initrd_len,
    })
}
