"""The bundled demo project follows the install when it moves (upgrade, frozen app)."""

from mmla_core.demo import demo_folder, ensure_demo
from mmla_core.store import open_store
from mmla_core.store.catalog import dataset_by_name


def test_demo_root_follows_a_moved_install(tmp_path):
    store = open_store(tmp_path / "p.sqlite")
    try:
        dataset_id = ensure_demo(store)
        with store.write() as conn:
            conn.execute("UPDATE datasets SET root = ? WHERE id = ?",
                         ("/old/site-packages/mmla_resources/demo", dataset_id))
        assert ensure_demo(store) == dataset_id
        assert dataset_by_name(store, "demo")["root"] == str(demo_folder())
        clips = store.scalar("SELECT count(*) FROM clips WHERE dataset_id = ?", (dataset_id,))
        assert clips == 8
    finally:
        store.close()
