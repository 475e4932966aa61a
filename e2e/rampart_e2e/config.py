"""Every fact about the server's interface that the harness assumes, in one
place, so it is easy to change when the server settles on something else."""

import os

# Written by `rampart serve` into its data folder on first start:
# {"AccountId": "...", "AccessKeyId": "...", "AccessKeySecret": "..."}.
FIRST_ACCOUNT_FILE = "first-account.json"

# Environment.
ENV_BIN = "RAMPART_BIN"  # path to the built `rampart` binary (required)
ENV_POSTGRES = "RAMPART_TEST_POSTGRES_URL"  # enables the PostgreSQL pass
ENV_KEEP = "RAMPART_E2E_KEEP"  # "1": keep temp data folders and server logs

# The test clock (rampart serve --test-clock): the server shifts the clock it
# issues and checks STS sessions by, by the whole seconds written in the file
# this variable names (read on every request). A testing aid only; the
# harness always starts the server with it, at offset 0.
TEST_CLOCK_FLAG = "--test-clock"
ENV_TEST_CLOCK_FILE = "RAMPART_TEST_CLOCK_OFFSET_FILE"
TEST_CLOCK_FILE = "clock-offset"

# The credentials URI route prefix (rampart credentials-uri create prints the
# whole URI; the tests only check it starts like this).
CREDENTIALS_URI_PATH = "/rampart/credentials/"

# API versions.
RAM_VERSION = "2015-05-01"
STS_VERSION = "2015-04-01"

# Timing.
START_TIMEOUT = float(os.environ.get("RAMPART_E2E_START_TIMEOUT", "30"))
STOP_TIMEOUT = float(os.environ.get("RAMPART_E2E_STOP_TIMEOUT", "15"))
CALL_TIMEOUT = float(os.environ.get("RAMPART_E2E_CALL_TIMEOUT", "30"))

# Region the SDK clients are configured with (only sent as RegionId by the
# classic Python SDK; never used to resolve an endpoint).
REGION = "cn-hangzhou"

POSTGRES_HINT = (
    "PostgreSQL pass skipped: set %s to a database URL to run the whole RAM suite a "
    "second time against `rampart serve --store URL`, e.g.\n"
    "    %s=postgres://postgres@127.0.0.1:5432/test e2e/run.sh\n"
    "(each run creates and drops its own database on that server)." % (ENV_POSTGRES, ENV_POSTGRES)
)
