import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';
import { EmojiDto } from '@parley/contracts';
import { validateSync } from 'class-validator';

/**
 * A reaction's emoji from the path (Express has decoded it), checked by the very validators of the socket's `react`
 * (EmojiDto), so both transports accept the same emojis and refuse the others in the same words (400).
 */
@Injectable()
export class ParseEmojiPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    const errors = validateSync(Object.assign(new EmojiDto(), { emoji: value }));
    const problem = errors.flatMap((e) => Object.values(e.constraints ?? {}))[0];
    if (problem) throw new BadRequestException(problem);
    return value;
  }
}
