"""Every mode and record type, end to end: the real CLI, real HTTP, the sandbox's own record."""

from __future__ import annotations

from e2e_support import objects


def test_profile_attributes(job, sandbox):
    job.write("users.csv", "external_id,first_name,loyalty_points,is_vip,tags,email\n"
                           "u1,Ada,120,true,\"[\"\"gold\"\"]\",ada@example.com\n"
                           "u2,Bob,,false,,\n")
    job.config(mode="user_track", track_record_type="user_profile_attributes",
               pre_formatted_fields=["tags"],
               input={"format": "csv", "path": "users.csv",
                      "columns": {"loyalty_points": "long", "is_vip": "boolean"}})
    run = job.run()
    assert run.code == 0, run.output
    assert objects(sandbox, "/users/track") == [
        {"external_id": "u1", "first_name": "Ada", "loyalty_points": 120, "is_vip": True,
         "tags": ["gold"], "email": "ada@example.com"},
        {"external_id": "u2", "first_name": "Bob", "is_vip": False},
    ]
    assert run.report["status"] == "success"
    assert (run.report["rows_read"], run.report["rows_delivered"], run.report["requests"]) == (2, 2, 1)
    assert sandbox.user(external_id="u1")["attributes"]["tags"] == ["gold"]


def test_custom_events(job, sandbox):
    job.write("events.jsonl",
              '{"external_id": "u1", "name": "played", "time": "2026-11-01T10:00:00Z", '
              '"properties": {"level": 3, "song": "x"}, "song": "y"}\n'
              '{"alias_name": "a9", "alias_label": "crm", "name": "played", "time": 1793608200}\n')
    job.config(mode="user_track", track_record_type="custom_events", concurrency=1,
               input={"format": "jsonl", "path": "events.jsonl"})
    run = job.run()
    assert run.code == 0, run.output
    got = objects(sandbox, "/users/track")
    assert got[0]["external_id"] == "u1" and got[0]["name"] == "played"
    assert got[0]["properties"] == {"level": 3, "song": "y"}          # the column wins
    assert got[0]["time"].startswith("2026-11-01T10:00:00")
    assert got[1]["user_alias"] == {"alias_name": "a9", "alias_label": "crm"}
    assert got[1]["time"].startswith("2026-11-02T08:30:00")
    assert run.report["rows_delivered"] == 2


def test_purchases(job, sandbox):
    job.write("p.csv", "external_id,product_id,currency,price,quantity,time,color\n"
                       "u1,sku-1,usd,9.99,2,2026-11-01 10:00:00,red\n")
    job.config(mode="user_track", track_record_type="purchases", input={"path": "p.csv"})
    run = job.run()
    assert run.code == 0, run.output
    [purchase] = objects(sandbox, "/users/track")
    assert purchase["product_id"] == "sku-1" and purchase["currency"] == "USD"
    assert purchase["price"] == 9.99 and purchase["quantity"] == 2
    assert purchase["properties"] == {"color": "red"}
    assert sandbox.user(external_id="u1")["purchases"][0]["product_id"] == "sku-1"


def test_new_alias_then_identify_then_delete(job, sandbox):
    job.write("aliases.csv", "alias_name,alias_label\nanon-1,crm\nanon-2,crm\n")
    job.config(mode="user_new_alias", input={"path": "aliases.csv"})
    run = job.run()
    assert run.code == 0, run.output
    assert objects(sandbox, "/users/alias/new") == [
        {"alias_name": "anon-1", "alias_label": "crm"}, {"alias_name": "anon-2", "alias_label": "crm"}]

    job.write("identify.csv", "external_id,alias_name,alias_label\nu1,anon-1,crm\n")
    job.config(mode="user_identifying", input={"path": "identify.csv"})
    run = job.run()
    assert run.code == 0, run.output
    assert objects(sandbox, "/users/identify") == [
        {"external_id": "u1", "user_alias": {"alias_name": "anon-1", "alias_label": "crm"}}]
    assert sandbox.user(external_id="u1") is not None

    job.write("delete.csv", "external_id,braze_id,alias_name,alias_label\nu1,,,\n,,anon-2,crm\n")
    job.config(mode="user_delete", input={"path": "delete.csv"})
    run = job.run()
    assert run.code == 0, run.output
    bodies = [r["body"] for r in sandbox.requests("/users/delete")]
    assert sorted(bodies, key=str) == sorted([{"external_ids": ["u1"]},
                                              {"user_aliases": [{"alias_name": "anon-2", "alias_label": "crm"}]}], key=str)
    assert sandbox.user(external_id="u1") is None
    assert run.report["rows_delivered"] == 2 and run.report["requests"] == 2


def test_batches_respect_the_object_limit(job, sandbox):
    rows = "".join(f"u{i},{i}\n" for i in range(1, 161))
    job.write("u.csv", "external_id,n\n" + rows)
    job.config(mode="user_track", track_record_type="user_profile_attributes",
               input={"path": "u.csv"}, concurrency=1)
    run = job.run()
    assert run.code == 0, run.output
    sizes = [len(r["body"]["attributes"]) for r in sandbox.requests("/users/track")]
    assert sizes == [75, 75, 10]
    assert [o["external_id"] for o in objects(sandbox)] == [f"u{i}" for i in range(1, 161)]


def test_stdin_input(job, sandbox):
    job.config(mode="user_track", track_record_type="user_profile_attributes",
               input={"format": "csv", "path": "-"})
    run = job.run(stdin="external_id,city\nu7,Oslo\n")
    assert run.code == 0, run.output
    assert objects(sandbox) == [{"external_id": "u7", "city": "Oslo"}]
