import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CarveError } from '../errors.js';

const execFileAsync = promisify(execFile);

/** The Apache Kafka release the local broker runs (KRaft mode; Maven Central artifacts). */
export const KAFKA_VERSION = '4.4.0';
/** log4j2 binding for the broker's slf4j logging, matching the log4j that kafka_2.13 depends on. */
const LOG4J_VERSION = '2.25.5';

/** Where the broker's jars are cached: $CARVE_KAFKA_LIBS, else ~/.cache/carve/kafka-<version>/libs. */
export function kafkaLibsDir(version = KAFKA_VERSION): string {
  if (process.env.CARVE_KAFKA_LIBS) return process.env.CARVE_KAFKA_LIBS;
  const cache = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(cache, 'carve', `kafka-${version}`, 'libs');
}

/**
 * The jars of an Apache Kafka broker (`org.apache.kafka:kafka_2.13` and `kafka-tools`), fetched
 * from Maven Central with `mvn dependency:copy-dependencies` once and reused from the cache: no
 * tarball download, the same repository the rest of the build uses. Concurrent callers (parallel
 * test files, a benchmark) wait for one fetch through a lock directory.
 */
export async function ensureKafkaJars(version = KAFKA_VERSION): Promise<string> {
  const libs = kafkaLibsDir(version);
  const done = join(libs, '..', '.done');
  if (existsSync(done)) return libs;
  if (process.env.CARVE_KAFKA_LIBS) {
    if (existsSync(libs) && readdirSync(libs).some((f) => f.startsWith('kafka_2.13-'))) return libs;
    throw missing(libs, 'CARVE_KAFKA_LIBS points to a directory without kafka_2.13 jars');
  }
  const root = join(libs, '..');
  mkdirSync(root, { recursive: true });
  const lock = join(root, '.lock');
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(done)) return libs;
      // A fetcher that died leaves its lock behind: take over after 10 minutes.
      if (Date.now() - statSync(lock, { throwIfNoEntry: false })!.mtimeMs > 10 * 60_000)
        rmSync(lock, { recursive: true, force: true });
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  try {
    if (existsSync(done)) return libs;
    const project = join(root, 'pom');
    mkdirSync(project, { recursive: true });
    writeFileSync(join(project, 'pom.xml'), pom(version));
    rmSync(libs, { recursive: true, force: true });
    try {
      await execFileAsync(
        'mvn',
        ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`, '-DincludeScope=runtime'],
        { cwd: project, maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60_000 },
      );
    } catch (cause) {
      const output = `${(cause as { stdout?: string }).stdout ?? ''}${(cause as { stderr?: string }).stderr ?? ''}`;
      throw missing(libs, `mvn could not fetch Kafka ${version}: ${output.trim().slice(-2000)}`, cause);
    }
    writeFileSync(done, new Date().toISOString());
    return libs;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function pom(version: string): string {
  const dependency = (group: string, artifact: string, v: string) =>
    `<dependency><groupId>${group}</groupId><artifactId>${artifact}</artifactId><version>${v}</version></dependency>`;
  return `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>carve</groupId><artifactId>kafka-broker</artifactId><version>1</version>
<dependencies>
${dependency('org.apache.kafka', 'kafka_2.13', version)}
${dependency('org.apache.kafka', 'kafka-tools', version)}
${dependency('org.apache.logging.log4j', 'log4j-slf4j-impl', LOG4J_VERSION)}
</dependencies></project>
`;
}

function missing(libs: string, message: string, cause?: unknown): CarveError {
  return new CarveError('KAFKA_JARS_MISSING', message, {
    details: { directory: libs },
    hint: 'Install a JDK (17+) and Maven (apt-get install openjdk-17-jre-headless maven) with access to Maven Central, or point CARVE_KAFKA_LIBS at a directory holding the kafka_2.13 jars and their dependencies.',
    cause,
  });
}
