"""`braze-export preview`: the request bodies a run would send for the first rows; no network."""

from __future__ import annotations

import json
import logging
from typing import TextIO

from connector.batching import Batcher, Entry
from connector.config import Settings
from connector.errors import InvalidRow
from connector.job import check_header, delivery_policy, make_job_writer
from connector.sources import open_source
from connector.state import writer_columns

log = logging.getLogger("braze_export")


def preview(settings: Settings, limit: int, out: TextIO) -> int:
    writer = make_job_writer(settings)
    policy = delivery_policy(settings, writer.endpoint)
    batcher = Batcher(policy.max_objects)
    fate = "skipped" if settings.skip_on_invalid_records else "would abort the job"
    batches = []
    with open_source(settings.input) as source:
        check_header(writer, writer_columns(settings, source.columns))
        for n, values in source:
            try:
                if isinstance(values, InvalidRow):
                    raise values
                if settings.dedupe_key is not None:     # ours, never sent (docs/resume.md)
                    values = {k: v for k, v in values.items() if k != settings.dedupe_key}
                item = writer.build(values)
            except InvalidRow as invalid:
                log.warning("row %d, %s (%s)", n, invalid, fate)
            else:
                batch = batcher.add(item.array, Entry(n, values, item.body))
                if batch is not None:
                    batches.append(batch)
            if n >= limit:
                break
    batches.extend(batcher.flush())
    for batch in batches:
        body = json.loads(batch.body())
        out.write(f"POST {writer.endpoint}  ({batch.rows})\n{json.dumps(body, indent=2, ensure_ascii=False)}\n")
    if not batches:
        out.write("(no request: no valid row among those read)\n")
    return 0
