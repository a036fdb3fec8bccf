//! A simulated disk for the power-cut tests, after redb's crash backend: it
//! keeps what a sync made durable apart from what was only written, and a
//! power cut — at the `n`-th sync, or wherever the test calls
//! [`SimDisk::power_cut`] — leaves the durable bytes and any prefix of
//! the bytes written since, the way an append-only file on a journaling
//! file system comes back (its data ordered before its size).

use std::io;
use std::sync::Mutex;

use super::file::LogIo;

/// One simulated file.
pub(crate) struct SimDisk {
    state: Mutex<State>,
}

struct State {
    data: Vec<u8>,
    /// Bytes a finished sync covers.
    durable: usize,
    syncs: u64,
    /// The sync during which the power goes (that sync does not finish).
    cut_at_sync: Option<u64>,
    /// The power is gone: every write and sync fails.
    dead: bool,
}

fn gone() -> io::Error {
    io::Error::other("simulated power cut")
}

impl SimDisk {
    /// A disk holding `data` (all of it durable), whose power goes during
    /// sync number `cut_at_sync` (counted from 1), if given.
    pub(crate) fn new(data: Vec<u8>, cut_at_sync: Option<u64>) -> SimDisk {
        let durable = data.len();
        SimDisk {
            state: Mutex::new(State {
                data,
                durable,
                syncs: 0,
                cut_at_sync,
                dead: false,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cuts the power now.
    pub(crate) fn power_cut(&self) {
        self.lock().dead = true;
    }

    /// Whether the power is gone.
    pub(crate) fn is_dead(&self) -> bool {
        self.lock().dead
    }

    /// What the file holds after the power came back: the durable bytes and
    /// the first `keep` of those written since (`keep` is taken modulo
    /// their number plus one, so any value is a valid choice).
    pub(crate) fn after_power_cut(&self, keep: usize) -> Vec<u8> {
        let s = self.lock();
        let unsynced = s.data.len().saturating_sub(s.durable);
        let end = s.durable + keep % (unsynced + 1);
        s.data[..end].to_vec()
    }
}

impl LogIo for SimDisk {
    fn len(&self) -> io::Result<u64> {
        Ok(self.lock().data.len() as u64)
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let s = self.lock();
        let start = offset as usize;
        let src = s
            .data
            .get(start..start + buf.len())
            .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let mut s = self.lock();
        if s.dead {
            return Err(gone());
        }
        let start = offset as usize;
        if s.data.len() < start + buf.len() {
            s.data.resize(start + buf.len(), 0);
        }
        s.data[start..start + buf.len()].copy_from_slice(buf);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut s = self.lock();
        if s.dead {
            return Err(gone());
        }
        s.data.resize(len as usize, 0);
        s.durable = s.durable.min(len as usize);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut s = self.lock();
        if s.dead {
            return Err(gone());
        }
        s.syncs += 1;
        if s.cut_at_sync == Some(s.syncs) {
            s.dead = true;
            return Err(gone());
        }
        s.durable = s.data.len();
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync_data()
    }
}
