from shared.migrations import run_env
from triage_svc.models import metadata

run_env(metadata)
