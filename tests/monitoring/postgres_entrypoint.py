"""The postgres image's docker-entrypoint.sh, natively: the program compose_images.IMAGES puts
in its place, run as the container's main process (`docker-entrypoint.sh postgres`), with the
container's root folder first (the image's /docker-entrypoint-initdb.d is under it).

It follows docker-library/postgres 16/alpine: as root, PGDATA and /var/run/postgresql made the
postgres user's, then as that user (Debian's `postgres` here, or nobody). On an empty PGDATA:
initdb as POSTGRES_USER with POSTGRES_PASSWORD, the image's `listen_addresses = '*'`, a `host all
all all <password_encryption>` line in pg_hba.conf, a temporary server on the socket alone,
POSTGRES_DB created, each /docker-entrypoint-initdb.d/*.sql run with psql (ON_ERROR_STOP), the
temporary server stopped. Then the server itself, in place of this process.
"""
import os
import pwd
import re
import shlex
import subprocess
import sys
from pathlib import Path

from compose_native import native_ids


def main(rootfs, args):
    """`docker-entrypoint.sh <args>` in the container whose root folder is `rootfs`."""
    if args and args[0].startswith("-"):
        args = ["postgres", *args]
    env = os.environ
    if args[:1] != ["postgres"]:
        os.execvp(args[0], args)
    env["POSTGRES_USER"] = user = env.get("POSTGRES_USER") or "postgres"
    env["POSTGRES_DB"] = db = env.get("POSTGRES_DB") or user
    password, pgdata = env.get("POSTGRES_PASSWORD", ""), Path(env["PGDATA"])
    initdb_d = Path(rootfs + "/docker-entrypoint-initdb.d")
    exists = (pgdata / "PG_VERSION").is_file() and (pgdata / "PG_VERSION").stat().st_size > 0
    if os.getuid() == 0:  # then as postgres, as the image's `exec gosu postgres`
        uid, gid = native_ids("postgres")
        for folder, mode in ((pgdata, 0o700), (Path("/var/run/postgresql"), 0o3775)):
            folder.mkdir(parents=True, exist_ok=True)
            folder.chmod(mode)
            for path in [folder, *folder.rglob("*")]:
                os.chown(path, uid, gid)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        env["HOME"] = pwd.getpwuid(uid).pw_dir
    run = lambda argv, **kw: subprocess.run(argv, check=True, text=True, **kw)
    if not exists:
        if not password and env.get("POSTGRES_HOST_AUTH_METHOD") != "trust":
            print("Error: Database is uninitialized and superuser password is not specified.", file=sys.stderr)
            return 1
        os.listdir(initdb_d)
        run(["initdb", f"--username={user}", "--pwfile=/dev/stdin",
             *shlex.split(env.get("POSTGRES_INITDB_ARGS", ""))], input=password + "\n")
        # The image's postgresql.conf.sample listens on every address.
        conf = pgdata / "postgresql.conf"
        conf.write_text(re.sub(r"(?m)^#?(listen_addresses)\s*=\s*\S+.*", r"\1 = '*'", conf.read_text()))
        auth = env.get("POSTGRES_HOST_AUTH_METHOD") or run(
            ["postgres", "-C", "password_encryption", *args[1:]], capture_output=True).stdout.strip()
        with open(pgdata / "pg_hba.conf", "a") as hba:
            hba.write(f"\nhost all all all {auth}\n")
        env["PGPASSWORD"] = env.get("PGPASSWORD") or password
        server = shlex.join([*args[1:], "-c", "listen_addresses=", "-p", env.get("PGPORT", "5432")])
        run(["pg_ctl", "-D", str(pgdata), "-o", server, "-w", "start"], env={**env, "PGUSER": env.get("PGUSER", user)})
        psql = ["psql", "-v", "ON_ERROR_STOP=1", "--username", user, "--no-password", "--no-psqlrc"]
        sql_env = {**env, "PGHOST": "", "PGHOSTADDR": ""}
        found = run(psql + ["--dbname", "postgres", "--set", f"db={db}", "--tuples-only"], env=sql_env,
                    input="SELECT 1 FROM pg_database WHERE datname = :'db' ;", capture_output=True).stdout
        if not found.strip():
            run(psql + ["--dbname", "postgres", "--set", f"db={db}"], env=sql_env, input='CREATE DATABASE :"db" ;')
        for script in sorted(initdb_d.iterdir()):  # the shell's glob order
            assert not script.name.endswith((".sh", ".gz", ".xz", ".zst")), f"{script.name}: not emulated"
            if script.name.endswith(".sql"):
                print(f"docker-entrypoint.sh: running /docker-entrypoint-initdb.d/{script.name}", flush=True)
                run(psql + ["--dbname", db, "-f", str(script)], env=sql_env)
            else:
                print(f"docker-entrypoint.sh: ignoring /docker-entrypoint-initdb.d/{script.name}", flush=True)
        run(["pg_ctl", "-D", str(pgdata), "-m", "fast", "-w", "stop"], env={**env, "PGUSER": env.get("PGUSER", "postgres")})
        env.pop("PGPASSWORD")
        print("\nPostgreSQL init process complete; ready for start up.\n", flush=True)
    os.execvp(args[0], args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
