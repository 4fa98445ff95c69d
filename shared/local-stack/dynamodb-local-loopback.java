import java.lang.reflect.Field;
import java.util.Locale;
import java.util.Set;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * DynamoDB Local as its own ServerRunner starts it (same flags), but reachable from this machine's programs only.
 *
 * DynamoDB Local has no option for its listen address: it binds every interface, takes any signature and answers CORS
 * requests from any origin. Run with the official jar on the class path (compiled once, or by the source launcher; see
 * dynamodb-local.ts), this sets its Jetty connector's host to 127.0.0.1 before it starts, and refuses with 403 a request
 * whose Host is not this loopback address and port (a DNS-rebinding page) or that carries an Origin (a browser: no SDK
 * sends one).
 */
final class DynamoDbLocalLoopback {
  private static final String LOOPBACK = "127.0.0.1";

  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    // The jar keeps its Jetty server in a private field and offers no other way to reach the connector.
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);

    int port = -1;
    for (Connector connector : server.getConnectors()) {
      ServerConnector serverConnector = (ServerConnector) connector;
      serverConnector.setHost(LOOPBACK);
      port = serverConnector.getPort();
    }
    if (port < 0) throw new IllegalStateException("DynamoDB Local has no connector to bind to " + LOOPBACK);

    Set<String> hosts = Set.of(LOOPBACK + ":" + port, "localhost:" + port);
    server.setHandler(new Handler.Wrapper(server.getHandler()) {
      @Override
      public boolean handle(Request request, Response response, Callback callback) throws Exception {
        String host = request.getHeaders().get(HttpHeader.HOST);
        if (host == null || !hosts.contains(host.toLowerCase(Locale.ROOT))) {
          Response.writeError(request, response, callback, 403, "Host must be one of " + hosts);
          return true;
        }
        if (request.getHeaders().contains(HttpHeader.ORIGIN)) {
          Response.writeError(request, response, callback, 403, "requests from web pages are refused");
          return true;
        }
        return super.handle(request, response, callback);
      }
    });

    proxy.start();
  }
}
