//! The broker knobs, each seen and undone: a stopped broker (under-replicated partitions), a
//! killed one (drops out, comes back on its old log dir), a paused one (answers nothing, catches
//! up when resumed).

use super::*;

#[test]
fn a_stopped_broker_leaves_partitions_under_replicated_until_it_is_back() {
    let _g = fault_lock();
    let k = kafka();
    k.create_topic("bed-stop", 3, 3);
    k.wait_fully_replicated(Duration::from_secs(60));
    assert_eq!(k.under_replicated_partitions(), vec![]);

    let restore = Restore(2);
    let t = Instant::now();
    k.stop_broker(2);
    assert_eq!(k.pid(2), None, "broker 2 is gone");
    let urp = poll_until(
        Duration::from_secs(30),
        "under-replicated partitions",
        || {
            let urp = k.under_replicated_partitions();
            if urp.is_empty() {
                Err("none".into())
            } else {
                Ok(urp)
            }
        },
    );
    // Every partition of an RF 3 topic had a replica on broker 2.
    for p in 0..3 {
        assert!(urp.contains(&("bed-stop".to_string(), p)), "{urp:?}");
    }
    eprintln!(
        "bed_kafka: stop_broker(2) seen in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // min.insync.replicas=2: acks=all still succeeds with two of three.
    produce(&producer(&k.plaintext_config()), "bed-stop", 0, 3, "stop");

    let t = Instant::now();
    k.start_broker(2);
    k.wait_fully_replicated(Duration::from_secs(90));
    eprintln!(
        "bed_kafka: start_broker(2) + fully replicated in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(k.under_replicated_partitions(), vec![]);
    drop(restore);
}

#[test]
fn a_killed_broker_drops_out_and_comes_back_on_its_old_log_dir() {
    let _g = fault_lock();
    let k = kafka();
    k.create_topic("bed-kill", 3, 3);
    produce(&producer(&k.plaintext_config()), "bed-kill", 0, 5, "before");
    k.wait_fully_replicated(Duration::from_secs(60));

    let restore = Restore(1);
    let t = Instant::now();
    k.kill_broker(1);
    // Its ZooKeeper session must time out before the others count it out.
    poll_until(
        Duration::from_secs(30),
        "broker 1 out of broker 2's metadata",
        || {
            let md = k.metadata_via(2, Duration::from_secs(5))?;
            if md.brokers().iter().any(|b| b.id() == 1) {
                Err("still listed".into())
            } else {
                Ok(())
            }
        },
    );
    eprintln!(
        "bed_kafka: kill_broker(1) seen in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    k.start_broker(1);
    k.wait_fully_replicated(Duration::from_secs(90));
    eprintln!(
        "bed_kafka: start_broker(1) after a kill + fully replicated in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    // The records written before the crash are still there, read from broker 1 too.
    let got = consume(&k.plaintext_config(), "bed-kill", 0, 5);
    assert_eq!(got.len(), 5);
    drop(restore);
}

#[test]
fn a_paused_broker_answers_nothing_and_catches_up_when_resumed() {
    let _g = fault_lock();
    let k = kafka();
    k.create_topic("bed-pause", 3, 3);
    k.wait_fully_replicated(Duration::from_secs(60));

    let restore = Restore(3);
    let t = Instant::now();
    k.pause_broker(3);
    assert!(k.pid(3).is_some(), "a paused broker still runs");
    let hung = k.metadata_via(3, Duration::from_secs(3));
    assert!(hung.is_err(), "a paused broker answered Metadata");
    poll_until(Duration::from_secs(30), "broker 3 counted out", || {
        let md = k.metadata_via(1, Duration::from_secs(5))?;
        if md.brokers().iter().any(|b| b.id() == 3) {
            return Err("still listed".into());
        }
        let urp = k.under_replicated_partitions();
        if urp.contains(&("bed-pause".to_string(), 0)) {
            Ok(())
        } else {
            Err(format!("under-replicated: {urp:?}"))
        }
    });
    eprintln!(
        "bed_kafka: pause_broker(3) seen in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let t = Instant::now();
    k.resume_broker(3);
    poll_until(Duration::from_secs(60), "broker 3 back", || {
        let md = k.metadata_via(3, Duration::from_secs(5))?;
        let in_cluster = k.metadata_via(1, Duration::from_secs(5))?;
        if md.brokers().len() == 3 && in_cluster.brokers().iter().any(|b| b.id() == 3) {
            Ok(())
        } else {
            Err("not registered again".into())
        }
    });
    k.wait_fully_replicated(Duration::from_secs(90));
    eprintln!(
        "bed_kafka: resume_broker(3) + fully replicated in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    drop(restore);
}
