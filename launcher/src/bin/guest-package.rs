//! `guest-package --guest FILE [--initrd FILE] [--append STR] [-m SIZE] --out FILE`:
//! writes the package the launcher would hand the engine (a FIT with kernel, initrd,
//! generated DTB and bootargs; see `launcher::guest`). For inspection with
//! `dumpimage -l`, and to boot our DTB under qemu-system-aarch64 (tests/guest/qemu-ref).

use std::path::PathBuf;
use std::process::ExitCode;

use launcher::size::parse_size;
use shared_abi::layout::DEFAULT_GUEST_RAM;

const USAGE: &str =
    "usage: guest-package --guest FILE [--initrd FILE] [--append STR] [-m SIZE] --out FILE";

fn run() -> Result<(), String> {
    let (mut guest, mut initrd, mut append, mut mem, mut out) = (None, None, None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let v = args.next().ok_or(format!("{a} needs a value; {USAGE}"))?;
        match a.as_str() {
            "--guest" => guest = Some(PathBuf::from(v)),
            "--initrd" => initrd = Some(PathBuf::from(v)),
            "--append" => append = Some(v),
            "-m" | "--memory" => mem = Some(v),
            "--out" => out = Some(PathBuf::from(v)),
            _ => return Err(format!("unknown argument {a:?}; {USAGE}")),
        }
    }
    let (Some(guest), Some(out)) = (guest, out) else {
        return Err(USAGE.into());
    };
    let ram = match mem {
        None => DEFAULT_GUEST_RAM,
        Some(m) => parse_size(&m).map_err(|e| format!("bad memory size {m:?}: {e}"))?,
    };
    let read = |p: &PathBuf| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let g = read(&guest)?;
    let i = initrd.as_ref().map(read).transpose()?;
    let p = launcher::guest::prepare(&guest, &g, i.as_deref(), append.as_deref(), ram)
        .map_err(|e| e.to_string())?;
    std::fs::write(&out, &p.blob).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!(
        "guest-package: {} ({} bytes): kernel at {:#x}, initrd at {:#x} ({} bytes), DTB at {:#x}, bootargs {:?}",
        out.display(),
        p.blob.len(),
        p.layout.kernel_addr,
        p.layout.initrd_addr,
        p.initrd_len,
        p.layout.dtb_addr,
        p.bootargs
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("guest-package: {e}");
            ExitCode::from(1)
        }
    }
}
