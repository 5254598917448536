//! Loads a static AArch64 Linux ELF and builds the initial stack (argv, envp, auxv).

use crate::mem::{GuestMem, PAGE, PROT_EXEC, PROT_READ, PROT_WRITE};
use goblin::elf::{program_header, Elf};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("not an ELF file: {0}")]
    Parse(#[from] goblin::error::Error),
    #[error("not a 64-bit little-endian AArch64 executable")]
    Arch,
    #[error("dynamically linked programs are not supported (PT_INTERP present)")]
    Dynamic,
    #[error("bad program header: {0}")]
    Segment(&'static str),
    #[error("guest memory fault while building the stack at {0:#x}")]
    Fault(u64),
}

pub struct Loaded {
    pub entry: u64,
    pub sp: u64,
    pub brk: u64,
}

/// Top of the initial stack and its size.
pub const STACK_TOP: u64 = 0x7fff_f000_0000;
pub const STACK_SIZE: u64 = 8 << 20;
/// Load bias for position-independent (static-pie) executables.
pub const PIE_BASE: u64 = 0x55_0000_0000;

pub const HWCAP: u64 = (1 << 0) | (1 << 1) | (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7);

fn prot_of(flags: u32) -> u8 {
    let mut p = 0;
    if flags & program_header::PF_R != 0 {
        p |= PROT_READ;
    }
    if flags & program_header::PF_W != 0 {
        p |= PROT_WRITE;
    }
    if flags & program_header::PF_X != 0 {
        p |= PROT_EXEC;
    }
    p
}

pub fn load(
    mem: &mut GuestMem,
    path: &str,
    args: &[Vec<u8>],
    env: &[Vec<u8>],
) -> Result<Loaded, LoadError> {
    let data = std::fs::read(path).map_err(|e| LoadError::Read(path.to_string(), e))?;
    let elf = Elf::parse(&data)?;
    if !elf.is_64 || !elf.little_endian || elf.header.e_machine != goblin::elf::header::EM_AARCH64 {
        return Err(LoadError::Arch);
    }
    if elf.interpreter.is_some() {
        return Err(LoadError::Dynamic);
    }
    let bias = if elf.header.e_type == goblin::elf::header::ET_DYN {
        PIE_BASE
    } else {
        0
    };
    let mut brk = 0u64;
    let mut phdr_addr = 0u64;
    for ph in &elf.program_headers {
        if ph.p_type == program_header::PT_PHDR {
            phdr_addr = ph.p_vaddr.wrapping_add(bias);
        }
        if ph.p_type != program_header::PT_LOAD {
            continue;
        }
        if ph.p_filesz > ph.p_memsz {
            return Err(LoadError::Segment("filesz > memsz"));
        }
        let vaddr = ph
            .p_vaddr
            .checked_add(bias)
            .ok_or(LoadError::Segment("address overflow"))?;
        let vend = vaddr
            .checked_add(ph.p_memsz)
            .filter(|&e| e < 1 << 47)
            .ok_or(LoadError::Segment("segment outside the user address space"))?;
        if ph.p_memsz > 1 << 32 {
            return Err(LoadError::Segment("segment larger than 4 GiB"));
        }
        let start = vaddr & !(PAGE - 1);
        let end = vend.div_ceil(PAGE) * PAGE;
        let prot = prot_of(ph.p_flags);
        mem.map(start, end - start, prot | PROT_WRITE);
        let off = ph.p_offset as usize;
        let file = data
            .get(off..off.saturating_add(ph.p_filesz as usize))
            .ok_or(LoadError::Segment("segment beyond end of file"))?;
        mem.write_bytes(vaddr, file, 0)
            .map_err(|f| LoadError::Fault(f.addr()))?;
        mem.protect(start, end - start, prot);
        brk = brk.max(end);
        if phdr_addr == 0 && ph.p_offset == 0 {
            phdr_addr = vaddr.wrapping_add(elf.header.e_phoff);
        }
    }

    // Stack.
    mem.map(STACK_TOP - STACK_SIZE, STACK_SIZE, PROT_READ | PROT_WRITE);
    let mut sp = STACK_TOP;
    let mut push_bytes = |mem: &mut GuestMem, b: &[u8]| -> Result<u64, LoadError> {
        sp -= b.len() as u64;
        mem.write_bytes(sp, b, 0)
            .map_err(|f| LoadError::Fault(f.addr()))?;
        Ok(sp)
    };
    let mut cstr = |mem: &mut GuestMem, s: &[u8]| {
        let mut v = s.to_vec();
        v.push(0);
        push_bytes(mem, &v)
    };
    let execfn = cstr(mem, path.as_bytes())?;
    let platform = cstr(mem, b"aarch64")?;
    let mut argp = Vec::new();
    for a in args {
        argp.push(cstr(mem, a)?);
    }
    let mut envp = Vec::new();
    for e in env {
        envp.push(cstr(mem, e)?);
    }
    let mut rnd = [0u8; 16];
    getrandom(&mut rnd);
    let random = push_bytes(mem, &rnd)?;

    // SAFETY: getuid/geteuid/getgid/getegid have no preconditions and cannot fail.
    let (uid, euid, gid, egid) = unsafe {
        (
            libc::getuid(),
            libc::geteuid(),
            libc::getgid(),
            libc::getegid(),
        )
    };
    let auxv: Vec<(u64, u64)> = vec![
        (3, phdr_addr),
        (4, 56),
        (5, elf.header.e_phnum as u64),
        (6, PAGE),
        (7, 0),
        (8, 0),
        (9, elf.entry + bias),
        (11, uid as u64),
        (12, euid as u64),
        (13, gid as u64),
        (14, egid as u64),
        (15, platform),
        (16, HWCAP),
        (17, 100),
        (23, 0),
        (25, random),
        (26, 0),
        (31, execfn),
        (0, 0),
    ];
    let mut words: Vec<u64> = Vec::new();
    words.push(args.len() as u64);
    words.extend(&argp);
    words.push(0);
    words.extend(&envp);
    words.push(0);
    for (k, v) in auxv {
        words.push(k);
        words.push(v);
    }

    sp -= 8 * words.len() as u64;
    sp &= !15;
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    mem.write_bytes(sp, &bytes, 0)
        .map_err(|f| LoadError::Fault(f.addr()))?;
    Ok(Loaded {
        entry: elf.entry + bias,
        sp,
        brk,
    })
}

pub fn getrandom(buf: &mut [u8]) {
    // SAFETY: buf is a valid writable buffer of buf.len() bytes.
    let r = unsafe { libc::getrandom(buf.as_mut_ptr().cast(), buf.len(), 0) };
    if r != buf.len() as isize {
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(73).wrapping_add(19);
        }
    }
}
