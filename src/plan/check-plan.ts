import { identifierBytes, MAX_IDENTIFIER_BYTES } from '../pg/quote.js';
import { migrationNames, type Plan } from './model.js';
import { PlanProblemCode, type PlanProblem } from './problems.js';

/**
 * Checks that need no database: generated and given names within PostgreSQL's 63-byte limit,
 * databases and roles not reused by two services on one server, projections naming known services,
 * no service left without tables.
 */
export function checkPlanStatic(plan: Plan): PlanProblem[] {
  const problems: PlanProblem[] = [];
  const names = migrationNames(plan.name);
  const tooLong = (name: string, kind: string, path: string, hint: string) => {
    if (identifierBytes(name) <= MAX_IDENTIFIER_BYTES) return;
    problems.push({
      code: PlanProblemCode.nameTooLong,
      path,
      object: name,
      message: `The ${kind} name "${name}" is ${identifierBytes(name)} bytes; PostgreSQL truncates names longer than ${MAX_IDENTIFIER_BYTES}`,
      hint,
      details: { name, kind, bytes: identifierBytes(name), max: MAX_IDENTIFIER_BYTES },
    });
  };
  const shorterName = 'Shorten the migration `name` (carve derives slot and publication names from it).';
  tooLong(names.slot, 'replication slot', 'name', shorterName);
  tooLong(names.publication, 'publication', 'name', shorterName);

  const seenDatabase = new Map<string, string>();
  const seenRole = new Map<string, { service: string; what: string }>();
  const serviceNames = new Set(plan.services.map((s) => s.name));
  for (const service of plan.services) {
    tooLong(service.database, 'database', `${service.path}.database`, 'Choose a shorter database name.');
    tooLong(
      service.role,
      'role',
      `${service.path}.role`,
      service.roleIsDefault
        ? `The default role is <service>_service; set a shorter \`role\` for service ${service.name}.`
        : 'Choose a shorter role name.',
    );
    tooLong(
      service.carveRole,
      'role',
      `${service.path}.carve_role`,
      service.carveRoleIsDefault
        ? `carve's own role is carve_<service> by default; set a shorter \`carve_role\` for service ${service.name}.`
        : 'Choose a shorter role name.',
    );
    if (service.auditTable) {
      tooLong(
        service.auditTable,
        'audit table',
        `${service.path}.audit_table`,
        'Choose a shorter audit table name.',
      );
    }
    for (const table of service.tables) {
      tooLong(table.name, 'table', table.path, 'Choose a shorter target table name (the map key).');
      for (const column of table.columns) {
        tooLong(
          column.target,
          'column',
          column.path.replace(/\.from$/, ''),
          'Choose a shorter target column name.',
        );
      }
    }

    const server = serverKey(service.target);
    const dbKey = `${server}/${service.database}`;
    const firstDb = seenDatabase.get(dbKey);
    if (firstDb) {
      problems.push({
        code: PlanProblemCode.duplicateDatabase,
        path: `${service.path}.database`,
        object: service.database,
        message: `Database ${service.database} is used by services ${firstDb} and ${service.name}`,
        hint: 'Give each service its own database (shared reference data goes in a readonly service).',
        details: { database: service.database, services: [firstDb, service.name] },
      });
    } else seenDatabase.set(dbKey, service.name);

    // Service roles and carve's roles share one namespace per server: each must be distinct, so
    // that no grant meant for one lands on another (docs/security.md).
    const roles = [
      { role: service.role, path: `${service.path}.role`, what: `service ${service.name}` },
      {
        role: service.carveRole,
        path: `${service.path}.carve_role`,
        what: `carve's role of service ${service.name}`,
      },
    ];
    for (const { role, path, what } of roles) {
      const roleKey = `${server}/${role}`;
      const first = seenRole.get(roleKey);
      if (first) {
        problems.push({
          code: PlanProblemCode.duplicateRole,
          path,
          object: role,
          message: `Role ${role} is used by ${first.what} and ${what}`,
          hint: 'Give each service its own login role, and carve its own role per service (`carve_role`), so that grants can keep them apart.',
          details: { role, services: [first.service, service.name] },
        });
      } else seenRole.set(roleKey, { service: service.name, what });
    }
  }

  // A service with nothing to hold is almost always a slip (its `tables:` mis-indented or left
  // out): it would get an empty database and roles, and nothing to cut over.
  const fed = new Set(plan.projections.map((p) => p.service));
  for (const service of plan.services) {
    if (service.tables.length > 0 || fed.has(service.name)) continue;
    problems.push({
      code: PlanProblemCode.emptyService,
      path: service.path,
      object: service.name,
      message: `Service ${service.name} has no tables and receives no projection: ${service.database} would stay empty`,
      hint: `List its monolith tables under ${service.path}.tables (indented under the service), or remove the service.`,
      details: { service: service.name, database: service.database },
    });
  }

  for (const projection of plan.projections) {
    if (!serviceNames.has(projection.service)) {
      problems.push({
        code: PlanProblemCode.unknownService,
        path: `${projection.path}.to`,
        object: projection.service,
        message: `Projection of ${projection.from} goes to unknown service "${projection.service}"`,
        hint: `Use one of: ${[...serviceNames].join(', ')}.`,
        details: { service: projection.service, known: [...serviceNames] },
      });
    }
    tooLong(projection.table, 'table', `${projection.path}.to`, 'Choose a shorter projection table name.');
  }
  return problems;
}

/** host:port of a URL, so that two URLs for the same server compare equal. */
export function serverKey(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`;
  } catch {
    return url;
  }
}

/** Fill line/column of problems from the plan's recorded key positions. */
export function locateProblems(plan: Plan, problems: PlanProblem[]): PlanProblem[] {
  return problems.map((problem) => {
    if (problem.line !== undefined) return problem;
    let path = problem.path;
    for (;;) {
      const loc = plan.locations[path];
      if (loc) return { ...problem, line: loc.line, column: loc.column };
      const shorter = path.replace(/(\.[^.[\]]+|\[[^\]]*\])$/, '');
      if (shorter === path || shorter === '') return problem;
      path = shorter;
    }
  });
}
