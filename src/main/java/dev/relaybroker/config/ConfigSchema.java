package dev.relaybroker.config;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Checks the raw shape of a config object before {@link BrokerOptions} reads it: unknown keys (typos) and wrong
 * types are all reported together. The generated converters skip a value of the wrong type without a word, so
 * this check is what tells the user.
 *
 * <p>The known keys are not listed here: they are the keys the options classes' generated converters write (found
 * once, by converting an instance whose every property is set), each typed by its setter's parameter. A key added to
 * an options class is known here with no second declaration.
 */
public final class ConfigSchema {
  private enum Type { STRING, INTEGER, BOOLEAN, STRING_ARRAY, OBJECT }

  /** One key: its JSON type, for an enum the accepted wire names, for a nested options class its keys. */
  private record Key(Type type, List<String> allowed, Map<String, Key> section) {
  }

  private static final Set<String> COMMENT_KEYS = Set.of("_comment", "$comment");
  private static final Map<String, Key> ROOT = sectionOf(BrokerOptions.class);

  private ConfigSchema() {
  }

  /**
   * Adds every shape problem to {@code problems} and returns a copy without the offending keys, so the values
   * that are well-formed can still be validated and reported in the same run.
   */
  public static JsonObject check(JsonObject config, List<String> problems) {
    JsonObject clean = config.copy();
    checkSection("", clean, ROOT, problems);
    return clean;
  }

  /** Every leaf key as a dotted path ({@code cloud.baseUrl}), in declaration order: what {@code config} describes. */
  static List<String> paths() {
    List<String> paths = new ArrayList<>();
    collectPaths("", ROOT, paths);
    return paths;
  }

  private static void collectPaths(String prefix, Map<String, Key> section, List<String> paths) {
    section.forEach((name, key) -> {
      if (key.section() != null) {
        collectPaths(prefix + name + ".", key.section(), paths);
      } else {
        paths.add(prefix + name);
      }
    });
  }

  private static void checkSection(String prefix, JsonObject section, Map<String, Key> known, List<String> problems) {
    for (String name : List.copyOf(section.fieldNames())) {
      Key key = known.get(name);
      Object value = section.getValue(name);
      if (key == null) {
        if (!COMMENT_KEYS.contains(name)) {
          problems.add("unknown config key '" + prefix + name + "' (known: " + String.join(", ", known.keySet()) + ")");
        }
        section.remove(name);
      } else if (value != null && !hasType(value, key.type())) {
        problems.add("config key '" + prefix + name + "' must be " + key.type().name().toLowerCase(Locale.ROOT).replace('_', ' '));
        section.remove(name);
      } else if (value instanceof String text && key.allowed() != null
        && !key.allowed().contains(text.trim().toLowerCase(Locale.ROOT))) {
        problems.add(prefix + name + " must be one of " + String.join(", ", key.allowed().stream().sorted().toList())
          + ", got '" + text + "'");
        section.remove(name);
      } else if (value instanceof JsonObject nested) {
        checkSection(prefix + name + ".", nested, key.section(), problems);
      }
    }
  }

  private static boolean hasType(Object value, Type type) {
    return switch (type) {
      case STRING -> value instanceof String;
      case INTEGER -> value instanceof Integer || value instanceof Long
        || (value instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()));
      case BOOLEAN -> value instanceof Boolean;
      case OBJECT -> value instanceof JsonObject;
      case STRING_ARRAY -> value instanceof JsonArray array && array.stream().allMatch(v -> v instanceof String);
    };
  }

  // ---------------------------------------------------------------------------------------------------------------
  // The keys, read off the options classes once.
  // ---------------------------------------------------------------------------------------------------------------

  private static Map<String, Key> sectionOf(Class<?> options) {
    Map<String, Method> setters = new LinkedHashMap<>();
    for (Method method : options.getMethods()) {
      if (method.getName().startsWith("set") && method.getName().length() > 3 && method.getParameterCount() == 1
        && !Modifier.isStatic(method.getModifiers())) {
        String property = Character.toLowerCase(method.getName().charAt(3)) + method.getName().substring(4);
        setters.put(property, method);
      }
    }
    Object probe = newInstance(options);
    setters.values().forEach(setter -> invoke(setter, probe, sample(setter.getParameterTypes()[0])));
    JsonObject written = (JsonObject) invoke(method(options, "toJson"), probe);
    Map<String, Key> keys = new LinkedHashMap<>();
    for (String name : written.fieldNames()) {
      Method setter = setters.get(name);
      if (setter == null) {
        throw new IllegalStateException(options.getSimpleName() + " writes '" + name + "' but has no setter for it");
      }
      keys.put(name, keyOf(setter.getParameterTypes()[0]));
    }
    return keys;
  }

  private static Key keyOf(Class<?> type) {
    if (type == String.class) {
      return new Key(Type.STRING, null, null);
    }
    if (type == int.class || type == Integer.class || type == long.class || type == Long.class) {
      return new Key(Type.INTEGER, null, null);
    }
    if (type == boolean.class || type == Boolean.class) {
      return new Key(Type.BOOLEAN, null, null);
    }
    if (List.class.isAssignableFrom(type)) {
      return new Key(Type.STRING_ARRAY, null, null);
    }
    if (type.isEnum()) {
      return new Key(Type.STRING, Arrays.stream(type.getEnumConstants())
        .map(constant -> ((Enum<?>) constant).name().toLowerCase(Locale.ROOT)).toList(), null);
    }
    if (isOptions(type)) {
      return new Key(Type.OBJECT, null, sectionOf(type));
    }
    throw new IllegalStateException("no JSON shape for a property of type " + type.getName());
  }

  /** A value of each property type that no converter skips (nothing null, nothing empty). */
  private static Object sample(Class<?> type) {
    if (type == String.class) {
      return "x";
    }
    if (type == int.class || type == Integer.class) {
      return 1;
    }
    if (type == long.class || type == Long.class) {
      return 1L;
    }
    if (type == boolean.class || type == Boolean.class) {
      return true;
    }
    if (List.class.isAssignableFrom(type)) {
      return List.of("x");
    }
    if (type.isEnum()) {
      return type.getEnumConstants()[0];
    }
    return isOptions(type) ? newInstance(type) : null;
  }

  /** An options class: a data object with a JSON constructor. */
  private static boolean isOptions(Class<?> type) {
    try {
      type.getConstructor(JsonObject.class);
      return true;
    } catch (NoSuchMethodException e) {
      return false;
    }
  }

  private static Object newInstance(Class<?> type) {
    try {
      return type.getConstructor().newInstance();
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException(type.getSimpleName() + " needs a public no-argument constructor", e);
    }
  }

  private static Method method(Class<?> type, String name) {
    try {
      return type.getMethod(name);
    } catch (NoSuchMethodException e) {
      throw new IllegalStateException(type.getSimpleName() + " has no " + name + "()", e);
    }
  }

  private static Object invoke(Method method, Object target, Object... arguments) {
    try {
      return method.invoke(target, arguments);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot call " + method, e);
    }
  }
}
