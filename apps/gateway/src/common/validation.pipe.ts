import { BadRequestException, Injectable, ValidationPipe, type ArgumentMetadata } from '@nestjs/common';
import { payloadShapeLimits, payloadShapeProblem } from '@parley/contracts';

/**
 * The one validation pipe, for REST bodies and queries and Socket.IO payloads alike: class-validator's messages,
 * unknown fields refused, query strings turned into numbers. Before class-validator (or class-transformer, which
 * recurses) looks at the input, it refuses input that is not an object, is deeper or bigger than any valid payload,
 * or has keys such as `__proto__`, with a walk that does not recurse.
 */
@Injectable()
export class StrictValidationPipe extends ValidationPipe {
  constructor() {
    super({ whitelist: true, forbidNonWhitelisted: true, transform: true });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const { type, metatype } = metadata;
    // Path parameters get their own pipe (ParseIdPipe) on the raw text: converting first would turn `1e3` into 1000.
    if (type === 'param') return value;
    // Only request data is checked here: other parameters (a Socket.IO socket, say) are live objects, not input.
    if ((type === 'body' || type === 'query') && metatype && metatype !== Object) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new BadRequestException(['payload must be an object']);
      }
      const problem = payloadShapeProblem(value, payloadShapeLimits);
      if (problem) throw new BadRequestException([problem]);
    }
    return super.transform(value, metadata);
  }
}
