//! virtio-blk on a raw image file: read, write, flush (`fdatasync`), discard and
//! write-zeroes (hole punching), get-id; read-only images; an exclusive lock.
//!
//! The image is locked with an open-file-description lock (`F_OFD_SETLK`): a
//! writable image takes a write lock, a read-only one a read lock, so a second
//! launcher cannot open an image another one writes (nor write one another reads).
//! The lock goes with the process, also on `kill -9`.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use virtio_bindings::virtio_blk::*;
use virtio_bindings::virtio_ids::VIRTIO_ID_BLOCK;

use super::{
    write_bufs, Chain, DeviceError, Mem, Segs, VirtioDevice, F_INDIRECT_DESC, F_VERSION_1,
};
use crate::error::LaunchError;
use vm_memory::{GuestAddress, GuestMemoryBackend};

const SECTOR: u64 = 512;
/// Largest piece copied between the image and guest RAM at once.
const CHUNK: usize = 1 << 20;
const QUEUE_MAX: u16 = 256;
/// Discard / write-zeroes limits we advertise (sectors per segment, segments).
const MAX_DISCARD_SECTORS: u32 = 1 << 22;
const MAX_DISCARD_SEG: u32 = 1;

/// A raw disk image.
pub struct Blk {
    file: File,
    path: PathBuf,
    readonly: bool,
    /// Capacity in 512-byte sectors (a partial last sector is not visible).
    sectors: u64,
    /// The get-id answer (at most 20 bytes).
    id: Vec<u8>,
}

fn f(bit: u32) -> u64 {
    1 << bit
}

/// Takes an OFD lock on the whole file (`write`: exclusive).
fn lock(file: &File, write: bool) -> std::io::Result<()> {
    // SAFETY: a zeroed flock is a valid value for every field.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = if write { libc::F_WRLCK } else { libc::F_RDLCK } as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    // SAFETY: F_OFD_SETLK on our own open fd with a valid flock (l_pid must be 0).
    let r = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &fl) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl Blk {
    /// Opens and locks the image (before the VM is built: errors are the user's).
    pub fn open(path: &Path, readonly: bool) -> Result<Blk, LaunchError> {
        let unreadable = |source| LaunchError::DriveUnreadable {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        if !meta.is_file() {
            return Err(LaunchError::DriveNotFile {
                path: path.to_path_buf(),
            });
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(!readonly)
            .open(path)
            .map_err(unreadable)?;
        if let Err(e) = lock(&file, !readonly) {
            return Err(match e.raw_os_error() {
                Some(libc::EAGAIN) | Some(libc::EACCES) => LaunchError::DriveLocked {
                    path: path.to_path_buf(),
                    how: if readonly {
                        "for writing"
                    } else {
                        "for reading or writing"
                    },
                },
                _ => unreadable(e),
            });
        }
        let mut id = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned().into_bytes())
            .unwrap_or_default();
        id.truncate(VIRTIO_BLK_ID_BYTES as usize);
        Ok(Blk {
            sectors: meta.len() / SECTOR,
            file,
            path: path.to_path_buf(),
            readonly,
            id,
        })
    }

    /// The image path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks a sector range; its byte offset and length.
    fn range(&self, sector: u64, bytes: u64) -> Option<(u64, u64)> {
        let off = sector.checked_mul(SECTOR)?;
        let end = off.checked_add(bytes)?;
        (end <= self.sectors * SECTOR).then_some((off, bytes))
    }

    /// Reads the image at `off` straight into the guest buffers (`pread` into guest
    /// RAM, no bounce copy). `Ok(false)`: a host I/O error or a short image.
    fn read_into(&self, mem: &Mem, mut off: u64, bufs: &[(u64, u32)]) -> Result<bool, DeviceError> {
        for &(a, l) in bufs {
            let slice = mem.get_slice(GuestAddress(a), l as usize)?;
            let guard = slice.ptr_guard_mut();
            let mut done = 0usize;
            while done < l as usize {
                // SAFETY: the slice is `l` bytes of guest RAM that vm-memory checked and
                // keeps mapped while `guard` lives; pread writes at most `l - done` bytes
                // from offset `done`.
                let n = unsafe {
                    libc::pread(
                        self.file.as_raw_fd(),
                        guard.as_ptr().add(done).cast(),
                        l as usize - done,
                        (off + done as u64) as libc::off_t,
                    )
                };
                if n <= 0 {
                    if n < 0
                        && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                    {
                        continue;
                    }
                    return Ok(false);
                }
                done += n as usize;
            }
            off += u64::from(l);
        }
        Ok(true)
    }

    /// Writes the guest buffers to the image at `off` (`pwrite` from guest RAM).
    fn write_from(
        &self,
        mem: &Mem,
        mut off: u64,
        bufs: &[(u64, u32)],
    ) -> Result<bool, DeviceError> {
        for &(a, l) in bufs {
            let slice = mem.get_slice(GuestAddress(a), l as usize)?;
            let guard = slice.ptr_guard();
            let mut done = 0usize;
            while done < l as usize {
                // SAFETY: as in `read_into`; pwrite only reads the `l - done` bytes.
                let n = unsafe {
                    libc::pwrite(
                        self.file.as_raw_fd(),
                        guard.as_ptr().add(done).cast(),
                        l as usize - done,
                        (off + done as u64) as libc::off_t,
                    )
                };
                if n <= 0 {
                    if n < 0
                        && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
                    {
                        continue;
                    }
                    return Ok(false);
                }
                done += n as usize;
            }
            off += u64::from(l);
        }
        Ok(true)
    }

    /// Discard or write-zeroes: punches holes (they read as zeroes); a file system
    /// without hole punching gets zeroes written for write-zeroes, and ignores discard.
    fn zero(&self, segs: &[u8], write_zeroes: bool) -> u32 {
        for seg in segs.chunks_exact(16) {
            let sector = u64::from_le_bytes(seg[0..8].try_into().unwrap_or([0; 8]));
            let num = u32::from_le_bytes(seg[8..12].try_into().unwrap_or([0; 4]));
            let flags = u32::from_le_bytes(seg[12..16].try_into().unwrap_or([0; 4]));
            let unmap = flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP != 0;
            if flags & !VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP != 0 || (unmap && !write_zeroes) {
                return VIRTIO_BLK_S_UNSUPP;
            }
            let Some((off, len)) = self.range(sector, u64::from(num) * SECTOR) else {
                return VIRTIO_BLK_S_IOERR;
            };
            if len == 0 {
                continue;
            }
            // SAFETY: fallocate on our own fd with in-range, non-negative offsets.
            let r = unsafe {
                libc::fallocate(
                    self.file.as_raw_fd(),
                    libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE,
                    off as libc::off_t,
                    len as libc::off_t,
                )
            };
            if r != 0 && write_zeroes {
                let zeroes = vec![0u8; CHUNK];
                let mut done = 0;
                while done < len {
                    let n = (len - done).min(CHUNK as u64) as usize;
                    if self.file.write_all_at(&zeroes[..n], off + done).is_err() {
                        return VIRTIO_BLK_S_IOERR;
                    }
                    done += n as u64;
                }
            }
        }
        VIRTIO_BLK_S_OK
    }
}

impl VirtioDevice for Blk {
    fn name(&self) -> &'static str {
        "virtio-blk"
    }

    fn device_id(&self) -> u32 {
        VIRTIO_ID_BLOCK
    }

    fn features(&self) -> u64 {
        let mut v = F_VERSION_1
            | F_INDIRECT_DESC
            | f(VIRTIO_BLK_F_SEG_MAX)
            | f(VIRTIO_BLK_F_BLK_SIZE)
            | f(VIRTIO_BLK_F_FLUSH);
        if self.readonly {
            v |= f(VIRTIO_BLK_F_RO);
        } else {
            v |= f(VIRTIO_BLK_F_DISCARD) | f(VIRTIO_BLK_F_WRITE_ZEROES);
        }
        v
    }

    fn num_queues(&self) -> u16 {
        1
    }

    fn queue_max(&self) -> u16 {
        QUEUE_MAX
    }

    /// `struct virtio_blk_config` up to `write_zeroes_may_unmap`.
    fn config(&self) -> Vec<u8> {
        let mut c = vec![0u8; 60];
        let put32 =
            |c: &mut Vec<u8>, o: usize, v: u32| c[o..o + 4].copy_from_slice(&v.to_le_bytes());
        c[0..8].copy_from_slice(&self.sectors.to_le_bytes());
        put32(&mut c, 12, u32::from(QUEUE_MAX) - 2); // seg_max
        put32(&mut c, 20, SECTOR as u32); // blk_size
        put32(&mut c, 36, MAX_DISCARD_SECTORS);
        put32(&mut c, 40, MAX_DISCARD_SEG);
        put32(&mut c, 44, 1); // discard_sector_alignment
        put32(&mut c, 48, MAX_DISCARD_SECTORS);
        put32(&mut c, 52, MAX_DISCARD_SEG);
        c[56] = 1; // write_zeroes_may_unmap
        c
    }

    fn request(&mut self, _queue: u16, chain: &Chain, mem: &Mem) -> Result<u32, DeviceError> {
        let mut r = Segs::new(&chain.readable);
        let mut w = Segs::new(&chain.writable);
        let hdr = r.read(mem, 16)?;
        let ty = u32::from_le_bytes(hdr[0..4].try_into().unwrap_or([0; 4]));
        let sector = u64::from_le_bytes(hdr[8..16].try_into().unwrap_or([0; 8]));
        let status_buf = w
            .take_back(1)
            .ok_or(DeviceError::Request("no status byte"))?;
        let mut written = 0u32;
        let st = match ty {
            VIRTIO_BLK_T_IN => {
                let data = w.rest();
                let len: u64 = data.iter().map(|b| u64::from(b.1)).sum();
                match self.range(sector, len) {
                    Some((off, _)) if self.read_into(mem, off, &data)? => {
                        written = len as u32;
                        VIRTIO_BLK_S_OK
                    }
                    _ => VIRTIO_BLK_S_IOERR,
                }
            }
            VIRTIO_BLK_T_OUT => {
                let data = r.rest();
                let len: u64 = data.iter().map(|b| u64::from(b.1)).sum();
                match self.range(sector, len) {
                    _ if self.readonly => VIRTIO_BLK_S_IOERR,
                    Some((off, _)) if self.write_from(mem, off, &data)? => VIRTIO_BLK_S_OK,
                    _ => VIRTIO_BLK_S_IOERR,
                }
            }
            VIRTIO_BLK_T_FLUSH => match self.file.sync_data() {
                Ok(()) => VIRTIO_BLK_S_OK,
                Err(_) => VIRTIO_BLK_S_IOERR,
            },
            VIRTIO_BLK_T_GET_ID => {
                let mut id = [0u8; VIRTIO_BLK_ID_BYTES as usize];
                id[..self.id.len()].copy_from_slice(&self.id);
                written = write_bufs(mem, &w.rest(), &id)?;
                VIRTIO_BLK_S_OK
            }
            VIRTIO_BLK_T_DISCARD | VIRTIO_BLK_T_WRITE_ZEROES if self.readonly => VIRTIO_BLK_S_IOERR,
            VIRTIO_BLK_T_DISCARD | VIRTIO_BLK_T_WRITE_ZEROES => {
                let n = r.len();
                if !n.is_multiple_of(16) || n / 16 > u64::from(MAX_DISCARD_SEG) {
                    VIRTIO_BLK_S_UNSUPP
                } else {
                    let segs = r.read(mem, n)?;
                    self.zero(&segs, ty == VIRTIO_BLK_T_WRITE_ZEROES)
                }
            }
            _ => VIRTIO_BLK_S_UNSUPP,
        };
        write_bufs(mem, &status_buf, &[st as u8])?;
        Ok(written + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::MockGuest;
    use super::*;
    use shared_abi::guest::RAM_BASE;
    use vm_memory::Bytes;

    const HDR: u64 = RAM_BASE + 0x8000;
    const DATA: u64 = RAM_BASE + 0x10000;
    const ST: u64 = RAM_BASE + 0x9000;

    fn image(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hvarm-blk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn hdr(g: &MockGuest, ty: u32, sector: u64) {
        g.mem.write_obj(ty, GuestAddress(HDR)).unwrap();
        g.mem.write_obj(0u32, GuestAddress(HDR + 4)).unwrap();
        g.mem.write_obj(sector, GuestAddress(HDR + 8)).unwrap();
        g.mem.write_obj(0xffu8, GuestAddress(ST)).unwrap();
    }

    fn status(g: &MockGuest) -> u8 {
        g.mem.read_obj(GuestAddress(ST)).unwrap()
    }

    #[test]
    fn read_write_flush_id() {
        let pattern: Vec<u8> = (0..8192u32).map(|i| (i * 7) as u8).collect();
        let p = image("rw.img", &pattern);
        let mut b = Blk::open(&p, false).unwrap();
        assert_eq!(b.config()[0..8], 16u64.to_le_bytes());
        assert_eq!(b.features() & f(VIRTIO_BLK_F_RO), 0);
        let mut g = MockGuest::new();
        // Read sectors 2..4 into two buffers.
        hdr(&g, VIRTIO_BLK_T_IN, 2);
        g.chain(
            0,
            &[
                (HDR, 16, false),
                (DATA, 512, true),
                (DATA + 4096, 512, true),
                (ST, 1, true),
            ],
        );
        assert_eq!(g.serve(&mut b).unwrap(), (1, true));
        assert_eq!(status(&g), 0);
        assert_eq!(g.used(0), (1, 0, 1025));
        let mut got = vec![0u8; 512];
        g.mem
            .read_slice(&mut got, GuestAddress(DATA + 4096))
            .unwrap();
        assert_eq!(got, pattern[1536..2048]);
        // Write one sector at 15 (the last), flush, and a read past the end.
        g.mem.write_slice(&[0xab; 512], GuestAddress(DATA)).unwrap();
        hdr(&g, VIRTIO_BLK_T_OUT, 15);
        g.chain(4, &[(HDR, 16, false), (DATA, 512, false), (ST, 1, true)]);
        g.serve(&mut b).unwrap();
        assert_eq!(status(&g), 0);
        hdr(&g, VIRTIO_BLK_T_FLUSH, 0);
        g.chain(7, &[(HDR, 16, false), (ST, 1, true)]);
        g.serve(&mut b).unwrap();
        assert_eq!(status(&g), 0);
        let on_disk = std::fs::read(&p).unwrap();
        assert_eq!(&on_disk[15 * 512..], &[0xab; 512][..]);
        assert_eq!(&on_disk[..15 * 512], &pattern[..15 * 512]);
        hdr(&g, VIRTIO_BLK_T_IN, 16);
        g.chain(9, &[(HDR, 16, false), (DATA, 512, true), (ST, 1, true)]);
        g.serve(&mut b).unwrap();
        assert_eq!(status(&g), VIRTIO_BLK_S_IOERR as u8);
        hdr(&g, VIRTIO_BLK_T_GET_ID, 0);
        g.chain(12, &[(HDR, 16, false), (DATA, 20, true), (ST, 1, true)]);
        g.serve(&mut b).unwrap();
        let mut id = [0u8; 20];
        g.mem.read_slice(&mut id, GuestAddress(DATA)).unwrap();
        assert_eq!(&id[..6], b"rw.img");
        assert_eq!(g.used(4).2, 21);
        // An unknown type.
        hdr(&g, 77, 0);
        g.chain(0, &[(HDR, 16, false), (ST, 1, true)]);
        g.serve(&mut b).unwrap();
        assert_eq!(status(&g), VIRTIO_BLK_S_UNSUPP as u8);
    }

    #[test]
    fn discard_and_write_zeroes() {
        let p = image("dz.img", &[0x55; 4096]);
        let mut b = Blk::open(&p, false).unwrap();
        let mut g = MockGuest::new();
        for (ty, sector) in [(VIRTIO_BLK_T_WRITE_ZEROES, 1u64), (VIRTIO_BLK_T_DISCARD, 4)] {
            hdr(&g, ty, 0);
            g.mem.write_obj(sector, GuestAddress(DATA)).unwrap();
            g.mem.write_obj(2u32, GuestAddress(DATA + 8)).unwrap();
            g.mem.write_obj(0u32, GuestAddress(DATA + 12)).unwrap();
            g.chain(0, &[(HDR, 16, false), (DATA, 16, false), (ST, 1, true)]);
            g.serve(&mut b).unwrap();
            assert_eq!(status(&g), 0);
        }
        let d = std::fs::read(&p).unwrap();
        assert_eq!(d.len(), 4096, "size kept");
        assert!(d[512..1536].iter().all(|&x| x == 0));
        assert!(d[..512].iter().all(|&x| x == 0x55));
        assert!(d[1536..2048].iter().all(|&x| x == 0x55));
    }

    #[test]
    fn readonly_refuses_writes() {
        let p = image("ro.img", &[1; 1024]);
        let mut b = Blk::open(&p, true).unwrap();
        assert_ne!(b.features() & f(VIRTIO_BLK_F_RO), 0);
        let mut g = MockGuest::new();
        hdr(&g, VIRTIO_BLK_T_OUT, 0);
        g.chain(0, &[(HDR, 16, false), (DATA, 512, false), (ST, 1, true)]);
        g.serve(&mut b).unwrap();
        assert_eq!(status(&g), VIRTIO_BLK_S_IOERR as u8);
        assert_eq!(std::fs::read(&p).unwrap(), vec![1; 1024]);
    }

    #[test]
    fn malformed_requests_fail_the_device() {
        let p = image("bad.img", &[0; 1024]);
        let mut b = Blk::open(&p, false).unwrap();
        // A header shorter than 16 bytes.
        let mut g = MockGuest::new();
        g.chain(0, &[(HDR, 8, false), (ST, 1, true)]);
        assert!(g.serve(&mut b).is_err());
        // No status byte.
        let mut g = MockGuest::new();
        hdr(&g, VIRTIO_BLK_T_FLUSH, 0);
        g.chain(0, &[(HDR, 16, false)]);
        assert!(g.serve(&mut b).is_err());
    }

    #[test]
    fn open_errors_and_lock() {
        let p = image("lock.img", &[0; 1024]);
        let first = Blk::open(&p, false).unwrap();
        let e = Blk::open(&p, false).err().unwrap();
        assert!(matches!(e, LaunchError::DriveLocked { .. }), "{e}");
        assert!(Blk::open(&p, true).is_err(), "no reader beside a writer");
        drop(first);
        let r1 = Blk::open(&p, true).unwrap();
        let _r2 = Blk::open(&p, true).expect("readers share");
        assert!(Blk::open(&p, false).is_err(), "no writer beside readers");
        drop(r1);
        let e = Blk::open(Path::new("/nonexistent/x.img"), false)
            .err()
            .unwrap();
        assert_eq!(e.exit_code().code(), 51);
        let e = Blk::open(&std::env::temp_dir(), false).err().unwrap();
        assert_eq!(e.exit_code().code(), 52, "{e}");
    }
}
