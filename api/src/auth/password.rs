//! Passwords: argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane,
//! the argon2 crate's defaults), hashed on threads of their own, a bounded
//! number at a time.

use std::sync::{Arc, Mutex, mpsc};

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use tokio::sync::{Semaphore, oneshot};

use crate::error::ApiError;

/// NIST SP 800-63B: at least 8 characters, and allow long passphrases.
const MIN_CHARS: usize = 8;
const MAX_CHARS: usize = 128;

/// A password that meets the length rules; never printed.
pub struct Password(String);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(…)")
    }
}

impl Password {
    pub fn parse(value: String) -> Result<Self, String> {
        let chars = value.chars().count();
        if chars < MIN_CHARS {
            Err(format!("must be at least {MIN_CHARS} characters"))
        } else if chars > MAX_CHARS {
            Err(format!("must be at most {MAX_CHARS} characters"))
        } else {
            Ok(Self(value))
        }
    }
}

/// Requests that may wait for a hashing thread, per thread; past them a
/// request is refused at once rather than queued without bound.
const WAITING_PER_WORKER: usize = 4;

type Job = Box<dyn FnOnce() + Send>;

/// Where every password is hashed and checked, a bounded number at a time.
///
/// Each argon2id run takes 19 MiB for tens of milliseconds. Unbounded, about
/// 13 concurrent registrations exceed the starter plan's 256 MiB and the Pod
/// is killed, with no account needed. So the runs go to a few threads of
/// their own, one per core (more would not finish sooner, and the blocking
/// pool stays free for other work); a few more requests wait for one, and
/// the rest get 503 with `Retry-After`.
pub struct PasswordHashing {
    admitted: Semaphore,
    jobs: mpsc::Sender<Job>,
}

impl PasswordHashing {
    /// `workers` threads.
    pub fn new(workers: usize) -> Self {
        let workers = workers.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for worker in 0..workers {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-{worker}"))
                .spawn(move || {
                    // Ends when the sender goes, with this value.
                    while let Ok(job) = queue.lock().expect("not poisoned").recv() {
                        // A panic fails its request (its answer is dropped), not the thread.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                    }
                })
                .expect("spawning a password thread");
        }
        Self {
            admitted: Semaphore::new(workers * (1 + WAITING_PER_WORKER)),
            jobs,
        }
    }

    /// One thread per core this process may use (its cgroup's CPU limit included).
    pub fn per_core() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, std::num::NonZero::get))
    }

    /// The PHC string to store (`$argon2id$v=19$m=19456,t=2,p=1$...`).
    pub async fn hash(&self, password: Password) -> Result<String, ApiError> {
        self.run(move || {
            Argon2::default()
                .hash_password(password.0.as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|error| ApiError::Internal(format!("hashing a password: {error}")))
        })
        .await
    }

    /// Whether `password` matches `hash`. With no hash (an unknown email) a
    /// dummy hash is checked instead, so the answer takes as long either way
    /// and does not tell an attacker which emails have accounts.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        self.run(move || {
            let known = hash.is_some();
            let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
            // Verified whether or not the account exists, before `known` is
            // looked at: an unknown email takes as long as a wrong password.
            let matches = Argon2::default()
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok();
            Ok(known && matches)
        })
        .await
    }

    /// Runs `work` on a password thread, or refuses when too many requests
    /// already wait for one.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _admitted = self.admitted.try_acquire().map_err(|_| {
            ApiError::Overloaded("too many passwords are being checked at once; retry in a second".to_owned())
        })?;
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            // The request may have gone (client disconnected): nobody to tell.
            let _ = answer.send(work());
        });
        let gone = || ApiError::Internal("a password thread failed".to_owned());
        self.jobs.send(job).map_err(|_| gone())?;
        answered.await.map_err(|_| gone())?
    }
}

/// Call once at start-up, before serving. glibc's malloc serves a block
/// over its mmap threshold with a mapping of its own, returned to the system
/// when freed, but raises that threshold to the size of each such block freed
/// (up to 32 MiB): from the first freed argon2 block on, the 19 MiB blocks
/// came from its arenas, which kept them and fragmented (195 MiB resident
/// after a flood of registrations with two hashes at a time, against 19 MiB
/// before). A fixed threshold keeps every block of 4 MiB or more a mapping of
/// its own. musl always does that.
pub fn return_large_blocks_to_the_system() {
    // The one unsafe call of the API: a C function with no pointer arguments.
    // SAFETY: mallopt only sets a parameter of the allocator, under the
    // allocator's own lock.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}

/// A real argon2id hash (of a random password nobody knows) with the same parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2hvcGZsZWV0ZHVtbXlzYWx0$0eIbmFPqqiuN0aXoTOvKl2JqCsS0qkH1Wf1H3d5yO0A";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("long enough".into()).is_ok());
        assert!(Password::parse("x".repeat(129)).is_err());
        assert!(format!("{:?}", Password::parse("long enough".into()).unwrap()).contains('…'));
    }

    #[actix_web::test]
    async fn hashes_verify_and_use_argon2id_with_owasp_parameters() {
        let hashing = PasswordHashing::new(1);
        let password = Password::parse("correct horse".into()).unwrap();
        let hash = hashing.hash(password).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(
            hashing
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!hashing.verify("wrong horse".into(), Some(hash)).await.unwrap());
    }

    #[actix_web::test]
    async fn an_unknown_account_never_verifies_but_still_does_the_work() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
        let hashing = PasswordHashing::new(1);
        assert!(!hashing.verify("anything".into(), None).await.unwrap());
    }

    #[actix_web::test]
    async fn past_the_waiting_room_a_check_is_refused_at_once() {
        let hashing = PasswordHashing::new(1);
        // Every admission taken, as by requests running and waiting.
        let _taken = hashing
            .admitted
            .try_acquire_many(1 + WAITING_PER_WORKER as u32)
            .unwrap();
        let refused = hashing.verify("anything".into(), None).await;
        assert!(matches!(refused, Err(ApiError::Overloaded(_))), "{refused:?}");
    }
}
