//! Local simulators of the Fly Machines, Coolify and GitHub REST APIs.
