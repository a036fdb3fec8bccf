//! Files only the service's user may read: the tokens file and the access
//! log's key (mode 0600 on Unix).

use std::fs::{File, OpenOptions};
use std::io;
use std::path::Path;

fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

/// Opens `path` to append, creating it readable by its owner only.
pub fn open_append(path: &Path) -> io::Result<File> {
    private(OpenOptions::new().append(true).create(true)).open(path)
}

/// Creates `path` with `bytes`, readable by its owner only; fails if it
/// exists (two services starting at once must not make two keys).
pub fn create_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use io::Write;
    let mut file = private(OpenOptions::new().write(true).create_new(true)).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
