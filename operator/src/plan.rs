//! What each plan gives a tenant by default.

use crate::crd::Plan;

/// The defaults of one plan. A Tenant's `spec.api` may override the replicas
/// and the API's resources; the quota, store limit and request rate are the
/// plan's alone.
///
/// | plan       | API replicas | quota CPU | quota memory | max stores | requests/s (tenant / per client) | API requests (CPU/memory) | API limits (CPU/memory) |
/// |------------|-------------:|----------:|-------------:|-----------:|---------------------------------:|---------------------------|-------------------------|
/// | starter    | 1            | 2         | 2Gi          | 3          | 50 / 20                          | 100m / 128Mi              | 500m / 256Mi            |
/// | growth     | 2            | 8         | 8Gi          | 20         | 500 / 100                        | 250m / 256Mi              | 1 / 512Mi               |
/// | enterprise | 3            | 32        | 64Gi         | 200        | 5000 / 500                       | 500m / 512Mi              | 2 / 1Gi                 |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlanDefaults {
    /// API replicas when `spec.api.replicas` is unset.
    pub api_replicas: i32,
    /// The namespace's ResourceQuota, for both requests and limits.
    pub quota_cpu: &'static str,
    pub quota_memory: &'static str,
    /// Stores the tenant may have.
    pub max_stores: u32,
    /// Requests per second the tenant's API admits in all, and from one
    /// client address (each replica enforces its share: `tenant::build`).
    pub requests_per_second: u32,
    pub client_requests_per_second: u32,
    /// Resources of each API container when `spec.api.resources` is unset;
    /// also the namespace's LimitRange defaults.
    pub api_cpu_request: &'static str,
    pub api_memory_request: &'static str,
    pub api_cpu_limit: &'static str,
    pub api_memory_limit: &'static str,
}

impl PlanDefaults {
    /// The defaults of `plan` (see the table on [`PlanDefaults`]).
    pub fn of(plan: Plan) -> Self {
        match plan {
            Plan::Starter => Self {
                api_replicas: 1,
                quota_cpu: "2",
                quota_memory: "2Gi",
                max_stores: 3,
                requests_per_second: 50,
                client_requests_per_second: 20,
                api_cpu_request: "100m",
                api_memory_request: "128Mi",
                api_cpu_limit: "500m",
                api_memory_limit: "256Mi",
            },
            Plan::Growth => Self {
                api_replicas: 2,
                quota_cpu: "8",
                quota_memory: "8Gi",
                max_stores: 20,
                requests_per_second: 500,
                client_requests_per_second: 100,
                api_cpu_request: "250m",
                api_memory_request: "256Mi",
                api_cpu_limit: "1",
                api_memory_limit: "512Mi",
            },
            Plan::Enterprise => Self {
                api_replicas: 3,
                quota_cpu: "32",
                quota_memory: "64Gi",
                max_stores: 200,
                requests_per_second: 5000,
                client_requests_per_second: 500,
                api_cpu_request: "500m",
                api_memory_request: "512Mi",
                api_cpu_limit: "2",
                api_memory_limit: "1Gi",
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_defaults() {
        assert_eq!(
            PlanDefaults::of(Plan::Starter),
            PlanDefaults {
                api_replicas: 1,
                quota_cpu: "2",
                quota_memory: "2Gi",
                max_stores: 3,
                requests_per_second: 50,
                client_requests_per_second: 20,
                api_cpu_request: "100m",
                api_memory_request: "128Mi",
                api_cpu_limit: "500m",
                api_memory_limit: "256Mi",
            }
        );
    }

    #[test]
    fn growth_defaults() {
        assert_eq!(
            PlanDefaults::of(Plan::Growth),
            PlanDefaults {
                api_replicas: 2,
                quota_cpu: "8",
                quota_memory: "8Gi",
                max_stores: 20,
                requests_per_second: 500,
                client_requests_per_second: 100,
                api_cpu_request: "250m",
                api_memory_request: "256Mi",
                api_cpu_limit: "1",
                api_memory_limit: "512Mi",
            }
        );
    }

    #[test]
    fn enterprise_defaults() {
        assert_eq!(
            PlanDefaults::of(Plan::Enterprise),
            PlanDefaults {
                api_replicas: 3,
                quota_cpu: "32",
                quota_memory: "64Gi",
                max_stores: 200,
                requests_per_second: 5000,
                client_requests_per_second: 500,
                api_cpu_request: "500m",
                api_memory_request: "512Mi",
                api_cpu_limit: "2",
                api_memory_limit: "1Gi",
            }
        );
    }

    #[test]
    fn the_default_plan_is_starter() {
        assert_eq!(PlanDefaults::of(Plan::default()), PlanDefaults::of(Plan::Starter));
    }

    /// Bigger plans never give less: a tenant upgrading never loses capacity.
    #[test]
    fn plans_grow_monotonically() {
        let plans = [Plan::Starter, Plan::Growth, Plan::Enterprise].map(PlanDefaults::of);
        for pair in plans.windows(2) {
            let (small, big) = (&pair[0], &pair[1]);
            assert!(small.api_replicas < big.api_replicas);
            assert!(small.max_stores < big.max_stores);
        }
    }

    /// Every plan's quota fits a rolling update (one surge pod) at the API's limits.
    #[test]
    fn quota_fits_a_rolling_update_at_the_limits() {
        fn millicores(cpu: &str) -> u64 {
            match cpu.strip_suffix('m') {
                Some(m) => m.parse().unwrap(),
                None => cpu.parse::<u64>().unwrap() * 1000,
            }
        }
        fn mebibytes(memory: &str) -> u64 {
            match memory.strip_suffix("Gi") {
                Some(g) => g.parse::<u64>().unwrap() * 1024,
                None => memory.strip_suffix("Mi").unwrap().parse().unwrap(),
            }
        }
        for plan in [Plan::Starter, Plan::Growth, Plan::Enterprise] {
            let d = PlanDefaults::of(plan);
            let pods = u64::try_from(d.api_replicas + 1).unwrap();
            assert!(
                pods * millicores(d.api_cpu_limit) <= millicores(d.quota_cpu),
                "{plan:?} cpu"
            );
            assert!(
                pods * mebibytes(d.api_memory_limit) <= mebibytes(d.quota_memory),
                "{plan:?} memory"
            );
        }
    }
}
