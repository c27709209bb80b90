import { CarveError } from '../errors.js';
import type { Routing, ServiceRoute } from '../routing/model.js';

/** The service must be one of the plan's and own at least one table. */
export function serviceToRecover(routing: Routing, name: string): ServiceRoute {
  const service = routing.services.find((s) => s.name === name);
  if (!service)
    throw new CarveError('RECOVER_UNKNOWN_SERVICE', `The plan has no service ${name}`, {
      details: { service: name, services: routing.services.map((s) => s.name) },
      hint: `Name one of the plan's services: ${routing.services.map((s) => s.name).join(', ')}.`,
    });
  return service;
}
