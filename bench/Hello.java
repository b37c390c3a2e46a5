/**
 * The JVM floor of scripts/bench's peer section: what the same java and flags cost before any broker code runs. Prints
 * one line (the moment a launched program could first answer) and, with an argument, stays alive that many seconds
 * so its resident memory can be read.
 */
public final class Hello {
  public static void main(String[] args) throws InterruptedException {
    System.out.println("[agent-relay] hello from the JVM floor");
    System.out.flush();
    if (args.length > 0) {
      Thread.sleep(Long.parseLong(args[0]) * 1000);
    }
  }
}
