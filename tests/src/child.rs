//! Child processes that cannot outlive the test that started them.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

/// Makes the child get SIGKILL when the thread that spawned it dies, so a test binary that
/// crashes or is killed (Ctrl-C, CI timeout) leaves no moto server or terraform run behind.
///
/// Linux delivers the signal when the spawning *thread* exits, not the process. That is what we
/// want here: every test runs on its own thread and owns its children for its whole body.
pub(crate) fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getpid has no preconditions.
        let parent = unsafe { libc::getpid() };
        // SAFETY: the hook runs between fork and exec, so it only makes async-signal-safe libc
        // calls and does not allocate.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(io::Error::last_os_error());
                }
                // The parent may have died before prctl took effect: then nobody would kill us.
                if libc::getppid() != parent {
                    return Err(io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

/// Finds `program` on PATH, or panics with `how_to_install`.
pub(crate) fn find_on_path(program: &str, how_to_install: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`{program}` is not on PATH. {how_to_install}"))
}
