"""A tiny streaming job with a vertex named "Writer", the vertex the seed tutorial reads metrics of.

Compiled here with the JDK against Flink's own lib/ (the PyPI distribution ships no Java examples).
"""

import subprocess
from pathlib import Path

CLASS = "SeedWriterJob"
SOURCE = """
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;

public class SeedWriterJob {
    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.fromSequence(0, Long.MAX_VALUE)
            .map(new MapFunction<Long, Long>() {
                public Long map(Long value) throws Exception { Thread.sleep(5); return value; }
            })
            .name("Throttle")
            .sinkTo(new DiscardingSink<>())
            .name("Writer");
        env.execute("seed-writer");
    }
}
"""


def writer_job_jar(flink_home: Path, workdir: Path, javac: str, jar_tool: str) -> Path:
    """Compile and package the job; returns the jar."""
    sources, classes = workdir / "src", workdir / "classes"
    sources.mkdir(parents=True, exist_ok=True)
    classes.mkdir(exist_ok=True)
    (sources / f"{CLASS}.java").write_text(SOURCE)
    subprocess.run(
        [javac, "-cp", f"{flink_home}/lib/*", "-d", str(classes), str(sources / f"{CLASS}.java")],
        check=True,
        capture_output=True,
        timeout=120,
    )
    jar = workdir / "seed-writer.jar"
    subprocess.run(
        [jar_tool, "cfe", str(jar), CLASS, "-C", str(classes), "."], check=True, capture_output=True, timeout=60
    )
    return jar
