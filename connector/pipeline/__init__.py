"""The pipeline every caller shares: prepare a plan, then pump rows through writer and delivery."""

from connector.pipeline.export import ExportOptions, JobResult, failed_before_start, run_export
from connector.pipeline.plan import Plan, prepare

__all__ = ["ExportOptions", "JobResult", "Plan", "failed_before_start", "prepare", "run_export"]
